#include "stream/kafka/answered_scan.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "stream/kafka/kafka_client.h"

namespace ferry::stream {

void AnsweredOffsets::Seal() {
  for (auto& [partition, offsets] : offsets_) {
    std::sort(offsets.begin(), offsets.end());
    offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  }
}

bool AnsweredOffsets::Contains(std::int32_t partition, std::int64_t offset) const {
  const auto it = offsets_.find(partition);
  return it != offsets_.end() && std::binary_search(it->second.begin(), it->second.end(), offset);
}

AnsweredOffsets ScanAnswered(const std::string& bootstrap_servers,
                             const std::map<std::string, std::string>& properties, const StreamSpec& spec) {
  constexpr std::int64_t kAnsweredScan = 20000;
  using Clock = std::chrono::steady_clock;
  AnsweredOffsets answered;
  auto conf = MakeKafkaConf(bootstrap_servers, properties,
                            {{"group.id", spec.group + "-scan"}, {"enable.auto.commit", "false"}},
                            {"group.id", "enable.auto.commit"});
  if (!conf) return answered;
  char error[512];
  Kafka scanner(rd_kafka_new(RD_KAFKA_CONSUMER, *conf, error, sizeof error));
  if (!scanner) return answered;
  const std::string prefix = spec.source_topic + "/";
  for (const std::string& topic : {spec.sink_topic, spec.errors_topic}) {
    if (topic.empty()) continue;
    auto partitions = TopicPartitions(scanner.get(), topic, 5000);
    if (!partitions) continue;
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions->size())));
    std::map<std::int32_t, std::int64_t> ends;
    for (const auto& p : *partitions) {
      if (p.high <= p.low) continue;
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.partition)->offset =
          std::max(p.low, p.high - kAnsweredScan);
      ends[p.partition] = p.high;
    }
    if (ends.empty() || rd_kafka_assign(scanner.get(), list.get())) continue;
    const auto give_up = Clock::now() + std::chrono::seconds(10);
    while (!ends.empty() && Clock::now() < give_up) {
      Message m(rd_kafka_consumer_poll(scanner.get(), 100));
      if (!m || m->err) continue;
      const std::string_view source = HeaderValue(*m, "ferry-source");
      if (source.starts_with(prefix)) {
        const auto rest = source.substr(prefix.size());
        const auto slash = rest.find('/');
        std::int32_t partition = 0;
        std::int64_t offset = 0;
        if (slash != std::string_view::npos &&
            std::from_chars(rest.data(), rest.data() + slash, partition).ec == std::errc() &&
            std::from_chars(rest.data() + slash + 1, rest.data() + rest.size(), offset).ec == std::errc()) {
          answered.Add(partition, offset);
        }
      }
      if (auto it = ends.find(m->partition); it != ends.end() && m->offset + 1 >= it->second) ends.erase(it);
    }
  }
  rd_kafka_consumer_close(scanner.get());
  answered.Seal();
  return answered;
}

}  // namespace ferry::stream
