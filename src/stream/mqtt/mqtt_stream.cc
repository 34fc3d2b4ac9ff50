#include "stream/mqtt/mqtt_stream.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "stream/batch_inference.h"
#include "stream/event.h"
#include "stream/event_sink.h"
#include "stream/mqtt/client.h"
#include "stream/mqtt/mqtt_sink.h"
#include "stream/offset_ledger.h"
#include "stream/stream_health.h"

namespace ferry::stream::mqtt {
namespace {

using Clock = std::chrono::steady_clock;

// An MQTT message as a stream event: its payload, its user properties as headers (MQTT 5), its
// topic as the key (so that a router's sticky split keeps a device on one route), and its
// Response Topic and Correlation Data when it is a request.
class MqttEvent final : public Event {
 public:
  explicit MqttEvent(const Message& message) : message_(message) {}
  std::string_view Payload() const override { return message_.payload; }
  std::optional<std::string_view> Header(std::string_view name) const override {
    std::optional<std::string_view> found;
    for (const auto& [key, value] : message_.properties.user) {
      if (SameHeaderName(key, name)) found = value;
    }
    return found;
  }
  std::optional<std::string_view> Key() const override { return message_.topic; }
  std::string_view Topic() const override { return message_.topic; }
  std::string Origin() const override { return message_.topic; }
  void ForEachHeader(const std::function<void(std::string_view, std::string_view)>& f) const override {
    for (const auto& [key, value] : message_.properties.user) f(key, value);
  }
  std::optional<ReplyTo> Reply() const override {
    if (!message_.properties.response_topic) return std::nullopt;
    ReplyTo to{.topic = *message_.properties.response_topic, .correlation = std::nullopt, .partition = std::nullopt};
    if (message_.properties.correlation_data) to.correlation = *message_.properties.correlation_data;
    return to;
  }

 private:
  const Message& message_;
};

class Stream final : public RunningStream {
 public:
  Stream(StreamSpec spec, ClientOptions options, runtime::Server& server)
      : spec_(std::move(spec)), options_(std::move(options)), server_(server) {}
  ~Stream() override { Stop(); }

  core::Result<void> Start(const StreamConfig& config) {
    FERRY_ASSIGN_OR_RETURN(sink_, MakeSink(config, spec_, *counters_, ledger_));
    thread_ = std::thread([this] { Run(); });
    return {};
  }

  void Stop() override {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (health_->Read().state != StreamState::kStopped) health_->SetState(StreamState::kStopped, "the server shut down");
  }

  StreamView view() const override {
    return {.name = spec_.name, .transport = "mqtt", .sink_transport = std::string(TransportName(spec_.sink_transport)),
            .source_topic = spec_.source_topic, .model = spec_.model, .sink_topic = spec_.sink_topic,
            .errors_topic = spec_.errors_topic, .group = spec_.group, .required = spec_.required,
            .counters = counters_, .health = health_};
  }

 private:
  std::string Filter() const {
    return spec_.mqtt.shared_group.empty() ? spec_.source_topic
                                           : fmt::format("$share/{}/{}", spec_.mqtt.shared_group, spec_.source_topic);
  }

  // Sleeps up to `d`, waking for Stop(); the sink's acknowledgements run meanwhile.
  void Sleep(std::chrono::milliseconds d) {
    for (const auto until = Clock::now() + d; Clock::now() < until && !stop_.load();) {
      sink_->Poll(20);
      AcknowledgeReady();
    }
  }

  // Connects and subscribes, backing off while the broker cannot be reached or refuses.
  bool Connect() {
    auto delay = std::chrono::milliseconds(200);
    while (!stop_.load()) {
      auto client = Client::Open(options_, std::chrono::seconds(10));
      if (client) {
        auto subscribed = (*client)->Subscribe(Filter(), static_cast<std::uint8_t>(spec_.mqtt.source_qos),
                                               std::chrono::seconds(10));
        if (subscribed) {
          client_ = std::move(*client);
          spdlog::info("stream '{}': subscribed to '{}' on {}:{} as '{}' (session {})", spec_.name, Filter(),
                       options_.host, options_.port, options_.connect.client_id,
                       client_->session_present() ? "resumed" : "new");
          states_.Settle(StreamState::kAssigned);
          return true;
        }
        states_.Enter(StreamState::kBackingOff, subscribed.error().message);
      } else {
        states_.Enter(StreamState::kBackingOff, client.error().message);
      }
      Sleep(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(10000));
    }
    return false;
  }

  // PUBACKs, in the order received, the messages of every batch whose messages the sink's broker
  // has all acknowledged (and of every batch before it).
  void AcknowledgeReady() {
    std::vector<std::uint16_t> ids;
    ledger_.TakeCommittable(&ids);
    if (client_ && !client_->failed()) {
      for (const auto id : ids) client_->Acknowledge(id);
    }
    health_->SetInFlight(ledger_.EventsInFlight());
    if (!ids.empty()) ++counters_->commits;
  }

  // Runs `attempt` until it returns no error, with a growing delay, as the Kafka loop does; nothing
  // is read meanwhile: the broker stops sending once `in_flight` messages are unacknowledged.
  Waited WithBackpressure(std::string_view what, const std::function<std::optional<core::Error>()>& attempt) {
    auto delay = std::chrono::milliseconds(5);
    bool paused = false;
    while (auto error = attempt()) {
      if (stop_.load()) return Waited::kStopping;
      if (client_->failed()) return Waited::kRevoked;
      if (!paused) ++counters_->pauses[static_cast<std::size_t>(ReasonOf(*error))];
      paused = true;
      states_.Enter(StreamState::kPaused, fmt::format("{} cannot take events now ({}); retrying", what, error->message));
      ++counters_->retries;
      Sleep(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(1000));
    }
    if (paused) states_.Resume();
    return Waited::kDone;
  }

  // Between batches: while the sink cannot deliver (its connection lost), nothing more is
  // taken.
  bool AwaitDelivery() {
    return WithBackpressure("the sink", [this]() -> std::optional<core::Error> {
             sink_->Poll(0);
             AcknowledgeReady();
             if (std::string trouble = sink_->Trouble(); !trouble.empty()) return core::Unavailable(std::move(trouble)).error();
             return std::nullopt;
           }) == Waited::kDone;
  }

  void Process(std::vector<Message>& batch) {
    // Retained messages are old news (the last value of a topic, sent on subscribing): not
    // answered unless asked.
    std::vector<Message> fresh;
    std::vector<std::uint16_t> acks;  // in the order received, as MQTT wants them acknowledged
    for (auto& m : batch) {
      if (m.qos > 0) acks.push_back(m.id);
      if (m.dup) ++counters_->duplicated;
      if (m.retain && !spec_.mqtt.retained) {
        ++counters_->skipped;
        continue;
      }
      fresh.push_back(std::move(m));
    }
    batch.clear();
    OffsetLedger::Batch* const entry = ledger_.Open({}, fresh.size(), std::move(acks));
    std::vector<MqttEvent> events;
    std::vector<const Event*> views;
    events.reserve(fresh.size());
    for (const auto& m : fresh) views.push_back(&events.emplace_back(m));
    health_->SetInFlight(ledger_.EventsInFlight());
    const auto outcomes = inference_.Infer(views);
    if (!outcomes) return;  // stopping, or the connection failed: the broker sends them again
    if (!WriteOutcomes(views, *outcomes, *sink_, *counters_, entry)) {
      states_.Enter(StreamState::kStopped, sink_->failure());
      return;
    }
    ledger_.Decide(entry);
    if (states_.settled() != StreamState::kRunning) states_.Settle(StreamState::kRunning);
    sink_->Poll(0);
    AcknowledgeReady();
  }

  void Run() {
    for (auto delay = std::chrono::milliseconds(500); !stop_.load(); delay = std::min(delay * 2, std::chrono::milliseconds(10000))) {
      const std::string trouble = sink_->Ready();
      if (trouble.empty()) break;
      states_.Enter(StreamState::kBackingOff, trouble);
      Sleep(delay);
    }
    std::vector<Message> batch;
    while (!stop_.load() && states_.state() != StreamState::kStopped) {
      if (!client_ || client_->failed()) {
        if (client_) {
          states_.Enter(StreamState::kBackingOff, client_->failure());
          client_.reset();
        }
        // What the lost connection held is sent again by the broker (the session): its ids are
        // not to be acknowledged on the new connection.
        ledger_.Clear();
        if (!Connect()) break;
      }
      if (!AwaitDelivery()) continue;
      batch.clear();
      const auto max = static_cast<std::size_t>(spec_.max_events);
      const auto wait = ledger_.Unacknowledged() > 0 ? std::chrono::milliseconds(2) : std::chrono::milliseconds(100);
      if (client_->Take(batch, max, wait) == 0) continue;
      const auto deadline = Clock::now() + std::chrono::milliseconds(spec_.max_wait_ms);
      while (batch.size() < max && !stop_.load()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || client_->Take(batch, max - batch.size(), left) == 0) break;
      }
      counters_->consumed += batch.size();
      Process(batch);
    }
    // What is answered is acknowledged before leaving; the rest the broker keeps for the session.
    if (states_.state() != StreamState::kStopped) {
      for (const auto until = Clock::now() + std::chrono::seconds(30);
           ledger_.Unacknowledged() > 0 && sink_->failure().empty() && Clock::now() < until;) {
        sink_->Poll(10);
        AcknowledgeReady();
      }
      AcknowledgeReady();
    }
    client_.reset();  // DISCONNECT: the session and what is unacknowledged stay with the broker
    sink_.reset();
  }

  StreamSpec spec_;
  ClientOptions options_;
  runtime::Server& server_;
  std::shared_ptr<StreamCounters> counters_ = std::make_shared<StreamCounters>();
  std::shared_ptr<StreamHealth> health_ = std::make_shared<StreamHealth>();
  StateKeeper states_{spec_.name, *health_};
  OffsetLedger ledger_;
  std::unique_ptr<EventSink> sink_;
  BatchInference inference_{spec_, server_, *counters_,
                            [this](std::string_view what, const std::function<std::optional<core::Error>()>& attempt) {
                              return WithBackpressure(what, attempt);
                            },
                            [this] { sink_->Poll(0); }};
  std::unique_ptr<Client> client_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

core::Result<std::unique_ptr<RunningStream>> MqttStream::Start(const StreamConfig& config, const StreamSpec& spec,
                                                               runtime::Server& server) {
  FERRY_ASSIGN_OR_RETURN(auto options, ClientOptionsFor(config.mqtt, spec.name));
  // One session a stream: the broker keeps each stream's unacknowledged messages apart.
  options.connect.clean = false;
  options.connect.receive_maximum = static_cast<std::uint16_t>(
      spec.mqtt.in_flight > 0 ? spec.mqtt.in_flight : std::min(65535, 2 * spec.max_events));
  spdlog::info("stream '{}': mqtt {} (QoS {}) -> {} -> {} {} (errors: {}), batches of up to {} events / {} ms",
               spec.name, spec.source_topic, spec.mqtt.source_qos, spec.model, TransportName(spec.sink_transport),
               spec.sink_topic, spec.tolerate_errors ? spec.errors_topic : "none: the stream stops at a bad message",
               spec.max_events, spec.max_wait_ms);
  auto stream = std::make_unique<Stream>(spec, std::move(options), server);
  FERRY_RETURN_IF_ERROR(stream->Start(config));
  return std::unique_ptr<RunningStream>(std::move(stream));
}

}  // namespace ferry::stream::mqtt
