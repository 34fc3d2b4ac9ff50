#include "stream/event_sink.h"

#include "stream/batch_inference.h"
#include "stream/kafka/kafka_sink.h"
#include "stream/mqtt/mqtt_sink.h"

namespace ferry::stream {

bool WriteOutcomes(std::span<const Event* const> events, std::span<const Outcome> outcomes, EventSink& sink,
                   StreamCounters& counters, OffsetLedger::Batch* batch) {
  for (std::size_t i = 0; i < events.size() && sink.failure().empty(); ++i) {
    const Outcome& o = outcomes[i];
    switch (o.kind) {
      case Outcome::Kind::kAnswer: sink.Answer(*events[i], o.value, o.route, o.traceparent, batch); break;
      case Outcome::Kind::kDeadLetter:
        sink.DeadLetter(*events[i], o.error_class, o.stage, o.value, o.traceparent, batch);
        break;
      case Outcome::Kind::kSkip: ++counters.skipped; break;
      case Outcome::Kind::kNone: break;
    }
  }
  return sink.failure().empty();
}

core::Result<std::unique_ptr<EventSink>> MakeSink(const StreamConfig& config, const StreamSpec& spec,
                                                  StreamCounters& counters, OffsetLedger& ledger) {
  if (spec.sink_transport == Transport::kMqtt) {
    FERRY_ASSIGN_OR_RETURN(auto options, mqtt::ClientOptionsFor(config.mqtt, spec.name + "-sink"));
    return std::make_unique<mqtt::MqttSink>(spec, counters, ledger, std::move(options));
  }
  auto sink = std::make_unique<KafkaSink>(spec, counters, ledger);
  FERRY_RETURN_IF_ERROR(sink->Connect(config.bootstrap_servers, config.properties));
  return sink;
}

}  // namespace ferry::stream
