#include "stream/kafka/kafka_sink.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>

#include "stream/event_codec.h"

namespace ferry::stream {
namespace {

// Bytes a record takes besides its key, value and headers, with room to spare (Kafka's record
// batch header is 61 bytes, a record's own fields at most a few dozen).
constexpr std::size_t kRecordOverhead = 512;

std::size_t HeaderBytes(const rd_kafka_headers_t* headers) {
  std::size_t bytes = 0;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    bytes += std::strlen(name) + size + 10;
  }
  return bytes;
}

bool TooLarge(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

}  // namespace

core::Result<void> KafkaSink::Connect(const std::string& bootstrap_servers,
                                        const std::map<std::string, std::string>& properties) {
  FERRY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                         MakeKafkaConf(bootstrap_servers, properties,
                                       {{"enable.idempotence", "true"},
                                        {"linger.ms", "2"},
                                        {"message.timeout.ms", "0"},
                                        {"message.max.bytes", "1048588"}},  // the broker's default
                                       {"enable.idempotence"}));
  char value[64];
  std::size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, "message.max.bytes", value, &size) == RD_KAFKA_CONF_OK) {
    std::from_chars(value, value + std::strlen(value), max_message_bytes_);
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::OnDelivery);
  rd_kafka_conf_set_opaque(conf, this);
  char error[512];
  producer_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error));
  if (!producer_) return core::InvalidArgument(fmt::format("stream '{}': kafka producer: {}", spec_.name, error));
  return {};
}

void KafkaSink::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* self = static_cast<KafkaSink*>(opaque);
  auto* batch = static_cast<OffsetLedger::Batch*>(message->_private);
  if (TooLarge(message->err)) {  // the broker's limit is below ours: written again, smaller
    rd_kafka_headers_t* headers = nullptr;
    rd_kafka_message_headers(message, &headers);
    self->refused_.push_back({rd_kafka_topic_name(message->rkt), std::string(Text(message->key, message->key_len)),
                              std::string(Text(message->payload, message->len)),
                              headers ? rd_kafka_headers_copy(headers) : rd_kafka_headers_new(4), batch});
    return;  // still expected: its replacement acknowledges it
  }
  if (message->err) {
    self->Fail(fmt::format("a message to '{}' was not delivered: {}", rd_kafka_topic_name(message->rkt),
                           rd_kafka_err2str(message->err)));
  }
  self->ledger_.Acknowledge(batch);
}

void KafkaSink::Fail(std::string why) {
  if (failure_.empty()) failure_ = std::move(why);
}

rd_kafka_resp_err_t KafkaSink::Produce(const std::string& topic, std::string_view key, std::string_view value,
                                       rd_kafka_headers_t* headers, OffsetLedger::Batch* batch, std::int32_t partition) {
  ledger_.Expect(batch);
  while (true) {
    const auto err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(batch), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return err;  // the message owns `headers` now
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_.get(), 10);
      continue;
    }
    rd_kafka_headers_destroy(headers);
    ledger_.Acknowledge(batch);  // nothing to wait for
    if (!TooLarge(err)) Fail(fmt::format("cannot produce to '{}': {}", topic, rd_kafka_err2str(err)));
    return err;
  }
}

rd_kafka_headers_t* KafkaSink::CopyHeaders(const Event& event, std::size_t extra) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(extra);
  event.ForEachHeader([&](std::string_view name, std::string_view value) { AddHeader(headers, name, value); });
  return headers;
}

std::string KafkaSink::Ready() {
  for (const std::string* topic : {&spec_.sink_topic, &spec_.errors_topic}) {
    if (topic->empty()) continue;
    if (auto partitions = TopicPartitions(producer_.get(), *topic, 5000); !partitions) {
      return fmt::format("{} topic: {} (create it, or let the broker create topics on first use)",
                         topic == &spec_.sink_topic ? "sink" : "error", partitions.error().message);
    }
  }
  return {};
}

void KafkaSink::Answer(const Event& event, std::string_view value, const core::RouteInfo& route,
                       std::string_view traceparent, OffsetLedger::Batch* batch) {
  rd_kafka_headers_t* headers = nullptr;
  if (spec_.copy_headers) {
    headers = CopyHeaders(event, 8);
    for (const char* ours : {"ferry-model", "ferry-model-version"}) rd_kafka_header_remove(headers, ours);
  } else {
    headers = rd_kafka_headers_new(8);
  }
  AddHeader(headers, "ferry-source", event.Origin());
  SetTraceparent(headers, traceparent);
  if (!spec_.copy_headers && !traceparent.empty()) {  // the trace's vendor state goes with it
    if (const auto state = event.Header("tracestate")) AddHeader(headers, "tracestate", *state);
  }
  route.ForEachField([&](std::string_view name, std::string_view field) { AddHeader(headers, name, field); });
  const std::string_view key = spec_.key_from_source ? event.Key().value_or(std::string_view()) : std::string_view();
  const std::string* topic = &spec_.sink_topic;
  std::string reply_topic;
  std::int32_t partition = RD_KAFKA_PARTITION_UA;
  if (const auto reply = spec_.source_transport == Transport::kKafka ? event.Reply() : std::nullopt) {
    reply_topic = reply->topic;
    topic = &reply_topic;
    if (reply->partition) partition = *reply->partition;
    if (reply->correlation) {
      rd_kafka_header_remove(headers, spec_.reply.correlation.c_str());
      AddHeader(headers, spec_.reply.correlation, *reply->correlation);
    }
  }
  const auto err = Produce(*topic, key, value, headers, batch, partition);
  if (TooLarge(err)) {
    DeadLetter(event, DeadLetterClass::kTooLarge, "sink",
               fmt::format("the answer is {} bytes, over the producer's limit of {} bytes (message.max.bytes)",
                           value.size(), max_message_bytes_),
               traceparent, batch);
    return;
  }
  if (!err) ++counters_.produced;
}

void KafkaSink::AddErrorHeaders(rd_kafka_headers_t* headers, DeadLetterClass kind, std::string_view stage,
                                  std::string_view reason) {
  ++counters_.errors;
  ++counters_.dead_letters[static_cast<std::size_t>(kind)];
  AddHeader(headers, "ferry-error", reason);
  AddHeader(headers, "ferry-error-class", ClassName(kind));
  AddHeader(headers, "ferry-stage", stage);
  AddHeader(headers, "ferry-stream", spec_.name);
}

void KafkaSink::DeadLetter(const Event& event, DeadLetterClass kind, std::string_view stage, std::string_view reason,
                           std::string_view traceparent, OffsetLedger::Batch* batch) {
  if (!spec_.tolerate_errors) {
    Fail(fmt::format("event {} ({}): {} (errors: {{tolerance: none}})", event.Origin(), ClassName(kind), reason));
    return;
  }
  const std::string_view key = event.Key().value_or(std::string_view());
  if (const auto reply = spec_.source_transport == Transport::kKafka ? event.Reply() : std::nullopt) {
    // The caller waits for an answer: it gets the reason.
    rd_kafka_headers_t* answer = rd_kafka_headers_new(4);
    if (reply->correlation) AddHeader(answer, spec_.reply.correlation, *reply->correlation);
    AddHeader(answer, "ferry-error-class", ClassName(kind));
    AddHeader(answer, "ferry-source", event.Origin());
    Produce(std::string(reply->topic), key, EncodeEventError(reason), answer, batch, reply->partition.value_or(RD_KAFKA_PARTITION_UA));
  }
  const std::string_view value = event.Payload();
  rd_kafka_headers_t* headers = CopyHeaders(event, 6);
  AddErrorHeaders(headers, kind, stage, reason);
  AddHeader(headers, "ferry-source", event.Origin());
  SetTraceparent(headers, traceparent);
  const std::size_t framing = key.size() + HeaderBytes(headers) + kRecordOverhead;
  if (value.size() + framing <= max_message_bytes_ &&
      !TooLarge(Produce(spec_.errors_topic, key, value, rd_kafka_headers_copy(headers), batch))) {
    rd_kafka_headers_destroy(headers);
    return;
  }
  const std::size_t budget = max_message_bytes_ > framing + 32 ? max_message_bytes_ - framing - 32 : 0;
  WriteCut(key, value, headers, value.size(), budget, batch);
}

void KafkaSink::WriteCut(std::string_view key, std::string_view value, rd_kafka_headers_t* headers,
                           std::size_t original_size, std::size_t budget, OffsetLedger::Batch* batch) {
  ++counters_.truncated;
  rd_kafka_header_remove(headers, "ferry-truncated");
  AddHeader(headers, "ferry-truncated", std::to_string(original_size));
  if (budget > 0 &&
      !TooLarge(Produce(spec_.errors_topic, key, value.substr(0, budget), rd_kafka_headers_copy(headers), batch))) {
    rd_kafka_headers_destroy(headers);
    return;
  }
  // A reference record: ferry's headers only (the event's own may be what is too large).
  rd_kafka_headers_t* reference = rd_kafka_headers_new(6);
  for (const char* name : {"ferry-error", "ferry-error-class", "ferry-stage", "ferry-stream", "ferry-source",
                           "ferry-truncated"}) {
    const void* field = nullptr;
    std::size_t size = 0;
    if (rd_kafka_header_get_last(headers, name, &field, &size) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      AddHeader(reference, name, Text(field, size));
    }
  }
  rd_kafka_headers_destroy(headers);
  if (TooLarge(Produce(spec_.errors_topic, {}, {}, reference, batch))) {
    Fail(fmt::format("the error topic '{}' refuses even a record without key or value", spec_.errors_topic));
  }
}

void KafkaSink::Flush(int timeout_ms) {
  if (producer_) rd_kafka_flush(producer_.get(), timeout_ms);
  Poll(0);
}

void KafkaSink::Poll(int timeout_ms) {
  rd_kafka_poll(producer_.get(), timeout_ms);
  while (!refused_.empty()) {
    Refused r = std::move(refused_.front());
    refused_.pop_front();
    const bool answer = r.topic != spec_.errors_topic;  // the sink topic or a reply topic
    if (answer) {  // the answer becomes a dead letter: the reason, and the answer cut to fit
      if (!spec_.tolerate_errors) {
        rd_kafka_headers_destroy(r.headers);
        Fail(fmt::format("the broker refused an answer of {} bytes to '{}' (errors: {{tolerance: none}})",
                         r.value.size(), r.topic));
      } else {
        // The answer's headers already name its event (ferry-source).
        AddErrorHeaders(r.headers, DeadLetterClass::kTooLarge, "sink",
                        fmt::format("the broker refused the answer of {} bytes for its size", r.value.size()));
        WriteCut(r.key, r.value, r.headers, r.value.size(), r.value.size() / 2, r.batch);
      }
    } else {  // a dead letter the broker refused: half the value again, down to a reference record
      const void* was = nullptr;
      std::size_t was_size = 0;
      std::size_t original = r.value.size();
      if (rd_kafka_header_get_last(r.headers, "ferry-truncated", &was, &was_size) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const auto text = Text(was, was_size);
        std::from_chars(text.data(), text.data() + text.size(), original);
      }
      WriteCut(r.key, r.value, r.headers, original, r.value.size() / 2 >= 1024 ? r.value.size() / 2 : 0, r.batch);
    }
    ledger_.Acknowledge(r.batch);  // the refused message: its replacement is expected now
  }
}

}  // namespace ferry::stream
