#include "stream/stream_loop.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "stream/batch_inference.h"
#include "stream/event_sink.h"
#include "stream/event_source.h"
#include "stream/kafka/kafka_source.h"
#include "stream/mqtt/mqtt_source.h"
#include "stream/offset_ledger.h"
#include "stream/stream_health.h"

namespace ferry::stream {
namespace {

using Clock = std::chrono::steady_clock;

class StreamLoop final : public RunningStream {
 public:
  StreamLoop(const StreamSpec& spec, runtime::Server& server) : spec_(spec), server_(server) {}
  ~StreamLoop() override { Stop(); }

  core::Result<void> Connect(const StreamConfig& config) {
    FERRY_ASSIGN_OR_RETURN(sink_, MakeSink(config, spec_, *counters_, ledger_));
    const StreamParts parts{spec_, *counters_, *health_, states_, ledger_, *sink_, stop_};
    if (spec_.source_transport == Transport::kMqtt) {
      FERRY_ASSIGN_OR_RETURN(source_, mqtt::MakeMqttSource(config.mqtt, parts));
    } else {
      FERRY_ASSIGN_OR_RETURN(source_, MakeKafkaSource(config, parts, server_));
    }
    return {};
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() override {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (sink_) sink_->Flush(10000);
    source_.reset();
    sink_.reset();
    if (health_->Read().state != StreamState::kStopped) health_->SetState(StreamState::kStopped, "the server shut down");
  }

  StreamView view() const override {
    return {.name = spec_.name,
            .transport = std::string(TransportName(spec_.source_transport)),
            .sink_transport = std::string(TransportName(spec_.sink_transport)),
            .source_topic = spec_.source_topic,
            .model = spec_.model,
            .sink_topic = spec_.sink_topic,
            .errors_topic = spec_.errors_topic,
            .group = spec_.group,
            .required = spec_.required,
            .counters = counters_,
            .health = health_};
  }

 private:
  // Runs `attempt` until it returns no error (it returns what keeps the model or the sink from
  // taking the work). Meanwhile the source is paused and the delay grows (5 ms to 1 s); a
  // shutdown or the batch lost at the source ends the wait with the work not done.
  Waited WithBackpressure(std::string_view what, const std::function<std::optional<core::Error>()>& attempt) {
    auto delay = std::chrono::milliseconds(5);
    bool paused = false;
    Waited waited = Waited::kDone;
    const auto since = Clock::now();
    while (auto error = attempt()) {
      if (stop_.load()) {
        waited = Waited::kStopping;
        break;
      }
      if (source_->Lost()) {
        waited = Waited::kRevoked;
        break;
      }
      if (!paused) {
        ++counters_->pauses[static_cast<std::size_t>(ReasonOf(*error))];
        source_->Pause(true);
        paused = true;
      }
      states_.Enter(StreamState::kPaused, fmt::format("{} cannot take events now ({}); retrying", what, error->message));
      ++counters_->retries;
      source_->Wait(delay);
      if (source_->Lost()) {
        waited = Waited::kRevoked;
        break;
      }
      delay = std::min(delay * 2, std::chrono::milliseconds(1000));
    }
    if (paused && waited != Waited::kRevoked) source_->Pause(false);
    if (paused && waited == Waited::kDone) {
      spdlog::info("stream '{}': {} takes events again after {:.1f} s", spec_.name, what,
                   std::chrono::duration<double>(Clock::now() - since).count());
      states_.Resume();
    }
    return waited;
  }

  // Before consuming: the sink can take answers (its topics exist, or the broker creates them on
  // first use; its MQTT broker answers). While it cannot, the stream backs off and asks again.
  bool AwaitSink() {
    for (auto delay = std::chrono::milliseconds(500); !stop_.load();
         delay = std::min(delay * 2, std::chrono::milliseconds(10000))) {
      const std::string trouble = sink_->Ready();
      if (trouble.empty()) return true;
      states_.Enter(StreamState::kBackingOff, trouble);
      for (const auto until = Clock::now() + delay; Clock::now() < until && !stop_.load();) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return false;
  }

  // Between batches: while the sink cannot deliver (its connection lost), the source pauses.
  void AwaitDelivery() {
    WithBackpressure("the sink", [this]() -> std::optional<core::Error> {
      sink_->Poll(0);
      source_->Acknowledge(/*sync=*/false);
      if (std::string trouble = sink_->Trouble(); !trouble.empty()) return core::Unavailable(std::move(trouble)).error();
      return std::nullopt;
    });
  }

  // Infers a batch and writes what its events lead to; the source acknowledges it once the
  // ledger lets. A batch not decided (a shutdown, or lost at the source, while it waited for its
  // model) stays unacknowledged.
  void Process(std::span<const Event* const> events) {
    OffsetLedger::Batch* const entry = source_->Record();
    const auto outcomes = inference_.Infer(events);
    if (!outcomes) return;
    if (!WriteOutcomes(events, *outcomes, *sink_, *counters_, entry)) {
      states_.Enter(StreamState::kStopped, sink_->failure());  // this batch is not acknowledged
      return;
    }
    ledger_.Decide(entry);
    if (states_.settled() != StreamState::kRunning) states_.Settle(StreamState::kRunning);
    source_->Acknowledge(/*sync=*/false);
  }

  void Run() {
    if (AwaitSink() && source_->Open()) {
      while (!stop_.load() && states_.state() != StreamState::kStopped) {
        const auto events = source_->Read();
        if (!events.empty()) Process(events);
        AwaitDelivery();
      }
    }
    source_->Close();
  }

  StreamSpec spec_;
  runtime::Server& server_;
  std::shared_ptr<StreamCounters> counters_ = std::make_shared<StreamCounters>();
  std::shared_ptr<StreamHealth> health_ = std::make_shared<StreamHealth>();
  StateKeeper states_{spec_.name, *health_};
  OffsetLedger ledger_;
  std::unique_ptr<EventSink> sink_;
  std::unique_ptr<EventSource> source_;  // after the sink, which it uses: destroyed first
  BatchInference inference_{spec_, server_, *counters_,
                            [this](std::string_view what, const std::function<std::optional<core::Error>()>& attempt) {
                              return WithBackpressure(what, attempt);
                            },
                            [this] { sink_->Poll(0); }};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

core::Result<std::unique_ptr<RunningStream>> StartStream(const StreamConfig& config, const StreamSpec& spec,
                                                         runtime::Server& server) {
  auto stream = std::make_unique<StreamLoop>(spec, server);
  FERRY_RETURN_IF_ERROR(stream->Connect(config));
  spdlog::info("stream '{}': {} {} -> {} -> {} {} (errors: {}), {}batches of up to {} events / {} ms", spec.name,
               TransportName(spec.source_transport), spec.source_topic, spec.model, TransportName(spec.sink_transport),
               spec.sink_topic, spec.tolerate_errors ? spec.errors_topic : "none: the stream stops at a bad event",
               spec.group.empty() ? "" : fmt::format("group {}, ", spec.group), spec.max_events, spec.max_wait_ms);
  stream->Start();
  return std::unique_ptr<RunningStream>(std::move(stream));
}

}  // namespace ferry::stream
