// KafkaSink: a stream's answers to its Kafka sink topic (or a request's reply topic), dead letters
// to its Kafka error topic -- each with headers saying where it came from, and never a message the producer refuses for
// its size. An answer over the limit becomes a dead letter (class too_large); a dead letter over
// it is cut to fit (header ferry-truncated: the original size), and failing that becomes a
// reference record (no key, no value: its headers name the event and the reason). The producer's
// `message.max.bytes` defaults to the broker's (1048588). A message refused for another reason,
// or any dead letter under `errors: {tolerance: none}`, sets failure(): the stream stops there.
//
// Every message is Expect()ed in the offset ledger under its event's batch and acknowledged by
// its delivery report, which Poll() runs on the stream's thread (event_sink.h). A reply carries
// the request's correlation header back under the same name (Spring's kafka_correlationId).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/inference.h"
#include "stream/event_sink.h"
#include "stream/kafka/kafka_client.h"
#include "stream/offset_ledger.h"
#include "stream/stream_config.h"
#include "stream/stream_metrics.h"

namespace ferry::stream {

class KafkaSink final : public EventSink {
 public:
  KafkaSink(const StreamSpec& spec, StreamCounters& counters, OffsetLedger& ledger)
      : spec_(spec), counters_(counters), ledger_(ledger) {}

  // Creates the producer: idempotent, acks=all, retrying without a time limit.
  core::Result<void> Connect(const std::string& bootstrap_servers, const std::map<std::string, std::string>& properties);
  rd_kafka_t* producer() const { return producer_.get(); }

  std::string Ready() override;  // the sink or error topic unknown to the broker, or the broker unreachable
  std::string Trouble() override { return {}; }  // librdkafka retries on its own
  void Answer(const Event& event, std::string_view value, const core::RouteInfo& route, std::string_view traceparent,
              OffsetLedger::Batch* batch) override;
  void DeadLetter(const Event& event, DeadLetterClass kind, std::string_view stage, std::string_view reason,
                  std::string_view traceparent, OffsetLedger::Batch* batch) override;
  // Runs delivery reports (waiting up to `timeout_ms`), then rewrites what the broker refused
  // for its size.
  void Poll(int timeout_ms) override;
  void Flush(int timeout_ms) override;
  const std::string& failure() const override { return failure_; }

 private:
  struct Refused {  // a message the broker refused for its size, to write again smaller
    std::string topic, key, value;
    rd_kafka_headers_t* headers;
    OffsetLedger::Batch* batch;
  };
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);

  // Produces one message (waiting while the producer's queue is full); takes `headers`.
  rd_kafka_resp_err_t Produce(const std::string& topic, std::string_view key, std::string_view value,
                              rd_kafka_headers_t* headers, OffsetLedger::Batch* batch,
                              std::int32_t partition = RD_KAFKA_PARTITION_UA);
  // A copy of the event's headers.
  static rd_kafka_headers_t* CopyHeaders(const Event& event, std::size_t extra);
  // Writes a dead letter that did not fit: its value cut to `budget` bytes, or if that does not
  // fit either, as a reference record.
  void WriteCut(std::string_view key, std::string_view value, rd_kafka_headers_t* headers,
                std::size_t original_size, std::size_t budget, OffsetLedger::Batch* batch);
  // ferry's dead-letter headers (the reason, its class, the stage, the stream), counted.
  void AddErrorHeaders(rd_kafka_headers_t* headers, DeadLetterClass kind, std::string_view stage,
                       std::string_view reason);
  void Fail(std::string why);

  const StreamSpec& spec_;
  StreamCounters& counters_;
  OffsetLedger& ledger_;
  Kafka producer_;
  std::size_t max_message_bytes_ = 1048588;
  std::deque<Refused> refused_;
  std::string failure_;
};

}  // namespace ferry::stream
