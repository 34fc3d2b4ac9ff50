// KafkaMonitorSink: monitoring records (observe/monitor.h) to a Kafka topic with ferry.yaml's
// kafka connection. The producer is idempotent (acks=all); a message is given up after
// `message.timeout.ms` (10 s unless ferry.yaml's properties say otherwise), so that while the
// broker is away records are failed and counted rather than held without end, and sending
// resumes by itself when it returns. Format cloudevents adds CloudEvents' Kafka binary-mode
// headers (ce_specversion, ce_id, ce_source, ce_type, ce_time, content-type); a record of a
// request that carried a W3C traceparent carries it as a header too.
// Thread safety: Send may be called from several monitors at once (one producer, locked).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"
#include "observe/monitor.h"
#include "stream/kafka/kafka_client.h"

namespace ferry::stream {

class KafkaMonitorSink final : public observe::MonitorSink {
 public:
  static core::Result<std::shared_ptr<KafkaMonitorSink>> Create(const std::string& bootstrap_servers,
                                                                const std::map<std::string, std::string>& properties,
                                                                std::string topic);
  ~KafkaMonitorSink() override;

  Outcome Send(std::span<const observe::MonitorRecord> records, observe::MonitorConfig::Format format) override;
  std::string Describe() const override { return "kafka topic " + topic_; }

 private:
  explicit KafkaMonitorSink(std::string topic) : topic_(std::move(topic)) {}
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);

  const std::string topic_;
  std::mutex mutex_;
  // Protected by mutex_ (delivery reports run inside Send's flush, under it).
  Kafka producer_;
  std::uint64_t delivered_ = 0, failed_ = 0;
  std::string last_error_;
};

}  // namespace ferry::stream
