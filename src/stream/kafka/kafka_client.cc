#include "stream/kafka/kafka_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <random>
#include <unistd.h>

namespace ferry::stream {
namespace {

// librdkafka's log lines, through ferry's log (syslog levels: 0-3 error, 4 warning, 5-6 info).
void LogKafka(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const auto spd = level <= 3 ? spdlog::level::err : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info : spdlog::level::debug;
  spdlog::log(spd, "kafka {} {}: {}", rd_kafka_name(rk), facility, message);
}

}  // namespace

core::Result<rd_kafka_conf_t*> MakeKafkaConf(const std::string& bootstrap_servers,
                                             const std::map<std::string, std::string>& properties,
                                             const std::vector<std::pair<std::string, std::string>>& settings,
                                             const std::vector<std::string_view>& reserved) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &LogKafka);
  char error[512];
  auto set = [&](const std::string& name, const std::string& value) -> core::Result<void> {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      return core::InvalidArgument(fmt::format("kafka property '{}': {}", name, error));
    }
    return {};
  };
  auto result = [&]() -> core::Result<void> {
    FERRY_RETURN_IF_ERROR(set("bootstrap.servers", bootstrap_servers));
    for (const auto& [name, value] : settings) FERRY_RETURN_IF_ERROR(set(name, value));
    for (const auto& [name, value] : properties) {
      if (std::find(reserved.begin(), reserved.end(), name) != reserved.end()) continue;
      FERRY_RETURN_IF_ERROR(set(name, value));
    }
    return {};
  }();
  if (!result) {
    rd_kafka_conf_destroy(conf);
    return std::unexpected(result.error());
  }
  return conf;
}

core::Result<TopicReader> ReadEveryPartition(const std::string& bootstrap_servers,
                                             const std::map<std::string, std::string>& properties,
                                             const std::string& topic, std::string_view what,
                                             const std::function<std::int64_t(const PartitionRange&)>& start) {
  std::random_device random;
  const std::string group = fmt::format("ferry-reader-{}-{:x}", getpid(), random());  // never joined
  FERRY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                         MakeKafkaConf(bootstrap_servers, properties,
                                       {{"group.id", group}, {"enable.auto.commit", "false"}},
                                       {"group.id", "enable.auto.commit"}));
  char error[512];
  TopicReader reader{.consumer = Kafka(rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error)), .partitions = {}};
  if (!reader.consumer) return core::InvalidArgument(fmt::format("{} consumer: {}", what, error));
  rd_kafka_poll_set_consumer(reader.consumer.get());
  FERRY_ASSIGN_OR_RETURN(reader.partitions, TopicPartitions(reader.consumer.get(), topic, 10000));
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(reader.partitions.size())));
  for (const auto& p : reader.partitions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.partition)->offset = start(p);
  }
  if (auto e = rd_kafka_assign(reader.consumer.get(), list.get())) {
    return core::Unavailable(fmt::format("{} '{}': {}", what, topic, rd_kafka_err2str(e)));
  }
  return reader;
}

core::Result<std::vector<PartitionRange>> TopicPartitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  auto err = rd_kafka_metadata(rk, 0, handle, &metadata, timeout_ms);
  rd_kafka_topic_destroy(handle);
  if (!err && (metadata->topic_cnt != 1 || metadata->topics[0].err)) {
    err = metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN;
  }
  std::vector<PartitionRange> partitions;
  if (!err) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      PartitionRange range{.partition = metadata->topics[0].partitions[i].id};
      if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), range.partition, &range.low, &range.high, timeout_ms)) {
        range.low = range.high = 0;
      }
      partitions.push_back(range);
    }
  }
  if (metadata) rd_kafka_metadata_destroy(metadata);
  if (err) return core::Unavailable(fmt::format("topic '{}': {}", topic, rd_kafka_err2str(err)));
  return partitions;
}

core::Result<bool> ConnectNowOrLater(std::string_view what, const std::function<core::Result<void>()>& connect) {
  auto connected = connect();
  if (connected) return true;
  if (connected.error().code != core::ErrorCode::kUnavailable) return std::unexpected(connected.error());
  spdlog::warn("{}: {}; trying again in 1 s", what, connected.error().message);
  return false;
}

bool RetryWhileUnavailable(std::string_view what, const std::function<core::Result<void>()>& connect,
                           const std::atomic<bool>& stop) {
  for (auto delay = std::chrono::seconds(1); !stop.load(); delay = std::min(delay * 2, std::chrono::seconds(30))) {
    for (const auto until = std::chrono::steady_clock::now() + delay; std::chrono::steady_clock::now() < until;) {
      if (stop.load()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto connected = connect();
    if (connected) {
      spdlog::info("{}: connected", what);
      return true;
    }
    if (connected.error().code != core::ErrorCode::kUnavailable) {
      spdlog::error("{}: {}", what, connected.error().message);
      return false;
    }
    spdlog::warn("{}: {}; trying again in {} s", what, connected.error().message, std::min(delay * 2, std::chrono::seconds(30)).count());
  }
  return false;
}

std::string_view HeaderValue(const rd_kafka_message_t& message, std::string_view name) {
  return KafkaEvent(message).Header(name).value_or(std::string_view());
}

void KafkaEvent::ForEachHeader(const std::function<void(std::string_view, std::string_view)>& f) const {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&message_, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char* key = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &key, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    f(key, Text(value, size));
  }
}

std::optional<std::string_view> KafkaEvent::Header(std::string_view name) const {
  std::optional<std::string_view> found;
  ForEachHeader([&](std::string_view key, std::string_view value) {
    if (SameHeaderName(key, name)) found = value;
  });
  return found;
}

std::optional<std::string_view> KafkaEvent::Key() const {
  if (!message_.key) return std::nullopt;
  return Text(message_.key, message_.key_len);
}

std::string KafkaEvent::Origin() const {
  return fmt::format("{}/{}/{}", rd_kafka_topic_name(message_.rkt), message_.partition, message_.offset);
}

std::optional<ReplyTo> KafkaEvent::Reply() const {
  if (!reply_ || reply_->topic.empty()) return std::nullopt;
  const auto topic = Header(reply_->topic);
  if (!topic || topic->empty()) return std::nullopt;
  ReplyTo to{.topic = *topic, .correlation = Header(reply_->correlation), .partition = std::nullopt};
  // Spring writes the partition as a 4-byte big-endian integer.
  if (const auto p = reply_->partition.empty() ? std::nullopt : Header(reply_->partition); p && p->size() == 4) {
    const auto* b = reinterpret_cast<const unsigned char*>(p->data());
    to.partition = static_cast<std::int32_t>((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                                             (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]});
  }
  return to;
}

}  // namespace ferry::stream
