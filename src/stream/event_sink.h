// EventSink: where a stream's answers and dead letters go, whatever the transport (Kafka:
// kafka_sink.h; MQTT: mqtt/mqtt_sink.h), so that any source can be paired with any sink. The sink
// and the error topic are on one transport.
//
// Every message written is Expect()ed in the stream's offset ledger under its event's batch and
// Acknowledge()d there when the broker has it (its delivery report, its PUBACK), which Poll() runs
// on the stream's thread; the ledger then lets the source acknowledge the batch (commit, PUBACK).
// A request (Event::Reply()) from a source on the sink's transport is answered on its reply topic.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

#include "routing/servable.h"
#include "stream/event.h"
#include "stream/offset_ledger.h"
#include "stream/stream_config.h"
#include "stream/stream_metrics.h"

namespace ferry::stream {

class EventSink {
 public:
  virtual ~EventSink() = default;

  // What keeps the sink from taking answers (its broker unreachable, its topics missing), or
  // empty; asked before a stream starts consuming. May take seconds.
  virtual std::string Ready() = 0;
  // What keeps it from delivering now (its connection lost), or empty; cheap, asked between
  // batches: the stream stops reading until it clears. (While it delivers, what waits for
  // acknowledgement is bounded by the sink: librdkafka's queue, the MQTT broker's window.)
  virtual std::string Trouble() = 0;

  // `value` answers `event`; `route` says which servable answered (ferry-model, ...);
  // `traceparent`, when not empty, is written in place of the event's (docs/tracing.md).
  virtual void Answer(const Event& event, std::string_view value, const routing::RouteInfo& route,
                      std::string_view traceparent, OffsetLedger::Batch* batch) = 0;
  // `event`, unchanged, on the error topic, with the reason, its class and the stage.
  virtual void DeadLetter(const Event& event, DeadLetterClass kind, std::string_view stage, std::string_view reason,
                          std::string_view traceparent, OffsetLedger::Batch* batch) = 0;

  // Runs the acknowledgements that arrived, waiting up to `timeout_ms` for one.
  virtual void Poll(int timeout_ms) = 0;
  // Writes what is queued and waits for its acknowledgements, up to `timeout_ms` (shutdown).
  virtual void Flush(int timeout_ms) = 0;

  // Why the stream must stop (a message that cannot be written, a dead letter under tolerance
  // none), or empty.
  virtual const std::string& failure() const = 0;
};

struct Outcome;

// Writes what each event led to (an answer, a dead letter; a skip is counted) under `batch`.
// False when the sink failed (failure() says why): the stream stops there.
bool WriteOutcomes(std::span<const Event* const> events, std::span<const Outcome> outcomes, EventSink& sink,
                   StreamCounters& counters, OffsetLedger::Batch* batch);

// The sink `spec` names, on its transport, with `config`'s connection. An error when the
// client refuses the configuration; a broker out of reach is not one (Ready() says it).
core::Result<std::unique_ptr<EventSink>> MakeSink(const StreamConfig& config, const StreamSpec& spec,
                                                  StreamCounters& counters, OffsetLedger& ledger);

}  // namespace ferry::stream
