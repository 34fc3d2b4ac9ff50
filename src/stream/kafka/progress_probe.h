// The progress of a stream's assigned partitions, for its lag: each partition's watermarks as the
// broker says them now (asked every two seconds), and the group's committed offsets when the
// partition was assigned (the stream records its own commits after that). Runs on a thread of its
// own, so that a slow or unreachable broker never holds the stream's thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <stop_token>
#include <string>

#include "stream/stream_health.h"

namespace ferry::stream {

// Until `token` stops it. `consumer` is the stream's (librdkafka handles are thread-safe).
void WatchProgress(rd_kafka_t* consumer, const std::string& topic, StreamHealth& health, std::stop_token token);

}  // namespace ferry::stream
