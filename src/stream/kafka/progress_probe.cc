#include "stream/kafka/progress_probe.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "stream/kafka/kafka_client.h"

namespace ferry::stream {

void WatchProgress(rd_kafka_t* consumer, const std::string& topic, StreamHealth& health, std::stop_token token) {
  std::vector<std::int32_t> known;  // partitions whose committed offset was asked for
  while (!token.stop_requested()) {
    const auto partitions = health.Partitions();
    std::erase_if(known, [&](std::int32_t p) { return std::find(partitions.begin(), partitions.end(), p) == partitions.end(); });
    std::vector<std::int32_t> fresh;
    for (const auto p : partitions) {
      if (std::find(known.begin(), known.end(), p) == known.end()) fresh.push_back(p);
    }
    if (!fresh.empty()) {
      PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(fresh.size())));
      for (const auto p : fresh) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
      if (!rd_kafka_committed(consumer, list.get(), 2000)) {
        std::map<std::int32_t, std::int64_t> committed;
        for (int i = 0; i < list->cnt; ++i) committed[list->elems[i].partition] = list->elems[i].offset;
        health.SetCommitted(committed, false);
        known.insert(known.end(), fresh.begin(), fresh.end());
      }
    }
    for (const auto p : partitions) {
      std::int64_t low = -1;
      std::int64_t high = -1;
      if (!rd_kafka_query_watermark_offsets(consumer, topic.c_str(), p, &low, &high, 2000)) {
        health.SetWatermarks(p, low, high);
      }
    }
    for (int i = 0; i < 40 && !token.stop_requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace ferry::stream
