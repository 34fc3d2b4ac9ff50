// Which events of a stream's source partitions were already answered: every sink and error message
// carries its event's `ferry-source` header (topic/partition/offset), so the last messages of each
// sink and error partition tell what earlier members of the group answered -- a process killed
// after producing and before committing. Events read again that are among them are duplicates,
// counted in ferry_stream_events_duplicated_total. The answered offsets may have gaps (an event's
// answer lost with the process while a later one's was written, on another topic or partition),
// so they are kept one by one, not as a highest offset.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stream/stream_config.h"

namespace ferry::stream {

class AnsweredOffsets {
 public:
  void Add(std::int32_t partition, std::int64_t offset) { offsets_[partition].push_back(offset); }
  void Seal();  // sorts; call after the last Add
  bool Contains(std::int32_t partition, std::int64_t offset) const;

 private:
  std::map<std::int32_t, std::vector<std::int64_t>> offsets_;  // source partition -> sorted offsets
};

// The source offsets answered in the last 20,000 messages of each partition of the stream's sink
// and error topics (at most ten seconds of reading; what cannot be read counts as not answered).
AnsweredOffsets ScanAnswered(const std::string& bootstrap_servers,
                                                  const std::map<std::string, std::string>& properties,
                                                  const StreamSpec& spec);

}  // namespace ferry::stream
