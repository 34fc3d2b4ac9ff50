// Small pieces shared by ferry's Kafka clients (streams, the models topic, ferry publish): RAII
// handles for librdkafka objects, and a configuration built from ferry.yaml's `kafka:` section
// with librdkafka's log lines routed to ferry's log; a Kafka message as a stream event.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "stream/event.h"
#include "stream/stream_config.h"

namespace ferry::stream {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Kafka = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// A configuration: bootstrap servers, then ferry's `settings`, then the operator's `properties`
// (all but `reserved`, which at-least-once depends on). The caller owns the result (it passes it
// to rd_kafka_new, which takes it).
core::Result<rd_kafka_conf_t*> MakeKafkaConf(const std::string& bootstrap_servers,
                                             const std::map<std::string, std::string>& properties,
                                             const std::vector<std::pair<std::string, std::string>>& settings,
                                             const std::vector<std::string_view>& reserved = {});

// A message's key, value or header as a string_view (empty for null).
inline std::string_view Text(const void* data, std::size_t size) {
  return data ? std::string_view(static_cast<const char*>(data), size) : std::string_view();
}

// A partition of a topic and its low and high watermarks (first offset, next offset to come).
struct PartitionRange {
  std::int32_t partition = 0;
  std::int64_t low = 0;
  std::int64_t high = 0;
};

// Every partition of `topic` with its watermarks (0, 0 where they could not be read), as the
// broker says now; Unavailable when the topic's metadata cannot be read.
core::Result<std::vector<PartitionRange>> TopicPartitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// A consumer reading every partition of one topic by assignment, outside any consumer group, so
// that every instance of ferry reads everything (the models topic, a feedback topic).
struct TopicReader {
  Kafka consumer;
  std::vector<PartitionRange> partitions;  // as they were when it started
};
// Starts reading `topic` with `kafka`'s connection, each partition from the offset `start`
// gives for it (RD_KAFKA_OFFSET_BEGINNING, its high watermark, ...). `what` names it in errors.
core::Result<TopicReader> ReadEveryPartition(const std::string& bootstrap_servers,
                                             const std::map<std::string, std::string>& properties,
                                             const std::string& topic, std::string_view what,
                                             const std::function<std::int64_t(const PartitionRange&)>& start);

// A subscriber's first connection, at start: true when `connect` succeeded, false when it failed
// with Unavailable (logged; the subscriber retries with RetryWhileUnavailable), the error
// otherwise (a configuration librdkafka refuses fails the start).
core::Result<bool> ConnectNowOrLater(std::string_view what, const std::function<core::Result<void>()>& connect);

// Calls `connect` again -- after 1 s, doubling up to 30 s -- while it fails with Unavailable (the
// broker unreachable, the topic missing), until it succeeds, fails otherwise, or `stop` is set.
// Each failure is logged, naming `what`. True once connected.
bool RetryWhileUnavailable(std::string_view what, const std::function<core::Result<void>()>& connect,
                           const std::atomic<bool>& stop);

// Adds header `name` with `value` (copied) to `headers`.
inline void AddHeader(rd_kafka_headers_t* headers, std::string_view name, std::string_view value) {
  rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                      static_cast<ssize_t>(value.size()));
}

// `traceparent` (W3C) in place of any the headers have; nothing changes when it is empty.
inline void SetTraceparent(rd_kafka_headers_t* headers, std::string_view traceparent) {
  if (traceparent.empty()) return;
  rd_kafka_header_remove(headers, "traceparent");
  AddHeader(headers, "traceparent", traceparent);
}

// The value of a message's header `name` (the last of that name, compared without case as
// everywhere in streams), or empty.
std::string_view HeaderValue(const rd_kafka_message_t& message, std::string_view name);

// A Kafka message as a stream event: its value, headers (the last of a name wins) and key.
class KafkaEvent final : public Event {
 public:
  explicit KafkaEvent(const rd_kafka_message_t& message, const ReplyHeaders* reply = nullptr)
      : message_(message), reply_(reply) {}
  std::string_view Payload() const override { return Text(message_.payload, message_.len); }
  std::optional<std::string_view> Header(std::string_view name) const override;
  std::optional<std::string_view> Key() const override;
  std::string_view Topic() const override { return rd_kafka_topic_name(message_.rkt); }
  std::string Origin() const override;
  void ForEachHeader(const std::function<void(std::string_view, std::string_view)>& f) const override;
  std::optional<ReplyTo> Reply() const override;
  std::string_view Protocol() const override { return "kafka"; }

 private:
  const rd_kafka_message_t& message_;
  const ReplyHeaders* reply_;
};

}  // namespace ferry::stream
