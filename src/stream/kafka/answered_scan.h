// How far answers to a stream's source partitions already went: every sink and error message
// carries its event's `ferry-source` header (topic/partition/offset), so the last messages of each
// sink and error partition tell how far earlier members of the group got -- a process killed
// after producing and before committing. Events read again up to there are duplicates, counted in
// ferry_stream_events_duplicated_total.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "stream/stream_config.h"

namespace ferry::stream {

// Source partition -> the highest offset already answered, from the last 20,000 messages of
// each partition of the stream's sink and error topics (at most ten seconds of reading; what
// cannot be read counts as not answered).
std::map<std::int32_t, std::int64_t> ScanAnswered(const std::string& bootstrap_servers,
                                                  const std::map<std::string, std::string>& properties,
                                                  const StreamSpec& spec);

}  // namespace ferry::stream
