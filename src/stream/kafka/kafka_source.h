// KafkaSource: a stream's events from a Kafka topic (event_source.h), read in its consumer group
// -- several `ferry serve` processes with the same group split the partitions -- and committed
// only as the offset ledger lets: once every message a batch caused is acknowledged by its sink,
// and every batch before it too (at least once). Commits are batched (at most every 50 ms)
// except before partitions are given up and at the end.
//
// A rebalance that revokes partitions first drains and commits what was answered, then abandons
// the batch in hand (its events go to the partitions' new owner). While paused (the model or the
// sink cannot take work) the partitions are paused and the consumer keeps polling to stay in the
// group. Broker trouble backs off with the reason in the stream's state; a fatal error stops the
// stream, which then leaves its group. With `feedback: {topic}` it also reads its router's
// feedback (feedback_topic.h); a thread of its own reads the partitions' watermarks for the lag.
#pragma once

#include <memory>

#include "core/error.h"
#include "runtime/server.h"
#include "stream/event_source.h"

namespace ferry::stream {

// Creates the consumer (librdkafka refusing the configuration is an error; the broker out of
// reach is not one: the stream backs off).
core::Result<std::unique_ptr<EventSource>> MakeKafkaSource(const StreamConfig& config, StreamParts parts,
                                                           runtime::Server& server);

}  // namespace ferry::stream
