#include "stream/kafka/kafka_monitor_sink.h"

#include <fmt/format.h>

namespace ferry::stream {

core::Result<std::shared_ptr<KafkaMonitorSink>> KafkaMonitorSink::Create(
    const std::string& bootstrap_servers, const std::map<std::string, std::string>& properties, std::string topic) {
  FERRY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                         MakeKafkaConf(bootstrap_servers, properties,
                                       {{"enable.idempotence", "true"},
                                        {"linger.ms", "5"},
                                        {"message.timeout.ms", "10000"}},
                                       {"enable.idempotence"}));
  std::shared_ptr<KafkaMonitorSink> sink(new KafkaMonitorSink(std::move(topic)));
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaMonitorSink::OnDelivery);
  rd_kafka_conf_set_opaque(conf, sink.get());
  char error[512];
  sink->producer_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error));
  if (!sink->producer_) return core::InvalidArgument(fmt::format("monitoring kafka producer: {}", error));
  return sink;
}

KafkaMonitorSink::~KafkaMonitorSink() {
  std::lock_guard lock(mutex_);
  if (producer_) rd_kafka_flush(producer_.get(), 2000);
}

void KafkaMonitorSink::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* self = static_cast<KafkaMonitorSink*>(opaque);
  if (message->err) {
    ++self->failed_;
    self->last_error_ = fmt::format("not delivered to '{}': {}", self->topic_, rd_kafka_err2str(message->err));
  } else {
    ++self->delivered_;
  }
}

observe::MonitorSink::Outcome KafkaMonitorSink::Send(std::span<const observe::MonitorRecord> records,
                                                     observe::MonitorConfig::Format format) {
  std::lock_guard lock(mutex_);
  const std::uint64_t delivered = delivered_, failed = failed_;
  std::size_t refused = 0;
  std::string refusal;
  for (const auto& record : records) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(8);
    if (format == observe::MonitorConfig::Format::kCloudEvents) {
      AddHeader(headers, "ce_specversion", "1.0");
      AddHeader(headers, "ce_id", record.id);
      AddHeader(headers, "ce_source", record.source);
      AddHeader(headers, "ce_type", "ferry.inference.record.v1");
      AddHeader(headers, "ce_time", record.time);
      AddHeader(headers, "content-type", "application/json");
    }
    if (!record.traceparent.empty()) AddHeader(headers, "traceparent", record.traceparent);
    if (!record.tracestate.empty()) AddHeader(headers, "tracestate", record.tracestate);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 50; ++attempt) {  // the producer's queue full: wait for room, 5 s at most
      err = rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
                              RD_KAFKA_V_KEY(record.key.data(), record.key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(record.body.data()), record.body.size()),
                              RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(producer_.get(), 100);
    }
    if (err) {
      rd_kafka_headers_destroy(headers);
      ++refused;
      refusal = fmt::format("the producer refused a record for '{}': {}", topic_, rd_kafka_err2str(err));
    }
  }
  // Every message is reported within message.timeout.ms; what is not yet is counted by a later Send.
  rd_kafka_flush(producer_.get(), 12000);
  Outcome outcome;
  outcome.sent = delivered_ - delivered;
  outcome.failed = failed_ - failed + refused;
  outcome.error = refused ? refusal : last_error_;
  return outcome;
}

}  // namespace ferry::stream
