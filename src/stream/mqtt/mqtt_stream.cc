#include "stream/mqtt/mqtt_stream.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/json_writer.h"
#include "stream/batch_inference.h"
#include "stream/event.h"
#include "stream/mqtt/client.h"
#include "stream/stream_health.h"

namespace ferry::stream::mqtt {
namespace {

using Clock = std::chrono::steady_clock;

// An MQTT message as a stream event: its payload, its user properties as headers (MQTT 5), and
// its topic as the key (so that a router's sticky split keeps a device on one route).
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

 private:
  const Message& message_;
};

std::string DefaultClientId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) return "ferry";
  return fmt::format("ferry-{}", host);
}

core::Result<ClientOptions> OptionsFor(const MqttConfig& config, const StreamSpec& spec) {
  FERRY_ASSIGN_OR_RETURN(ClientOptions o, ParseBrokerUrl(config.broker));
  o.tls = o.tls || !config.tls_ca.empty() || !config.tls_cert.empty();
  o.tls_options = {.ca_file = config.tls_ca, .cert_file = config.tls_cert, .key_file = config.tls_key,
                   .verify_host = config.tls_verify_host};
  Connect& c = o.connect;
  c.version = config.version == "3.1.1" ? Version::k311 : Version::k5;
  // One session a stream: the broker keeps each stream's unacknowledged messages apart.
  c.client_id = fmt::format("{}-{}", config.client_id.empty() ? DefaultClientId() : config.client_id, spec.name);
  c.clean = false;
  c.keep_alive_s = static_cast<std::uint16_t>(config.keep_alive_s);
  if (config.has_username) c.username = config.username;
  if (config.has_password) c.password = config.password;
  c.session_expiry_s = static_cast<std::uint32_t>(config.session_expiry_s);
  c.receive_maximum = static_cast<std::uint16_t>(
      spec.mqtt.in_flight > 0 ? spec.mqtt.in_flight : std::min(65535, 2 * spec.max_events));
  return o;
}

class Stream final : public RunningStream {
 public:
  Stream(StreamSpec spec, ClientOptions options, runtime::Server& server)
      : spec_(std::move(spec)), options_(std::move(options)), server_(server) {}
  ~Stream() override { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() override {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (health_->Read().state != StreamState::kStopped) health_->SetState(StreamState::kStopped, "the server shut down");
  }

  StreamView view() const override {
    return {.name = spec_.name, .transport = "mqtt", .source_topic = spec_.source_topic, .model = spec_.model,
            .sink_topic = spec_.sink_topic, .errors_topic = spec_.errors_topic, .group = spec_.group,
            .required = spec_.required, .counters = counters_, .health = health_};
  }

 private:
  std::string Filter() const {
    return spec_.mqtt.shared_group.empty() ? spec_.source_topic
                                           : fmt::format("$share/{}/{}", spec_.mqtt.shared_group, spec_.source_topic);
  }

  // Sleeps up to `d`, waking for Stop().
  void Sleep(std::chrono::milliseconds d) {
    for (const auto until = Clock::now() + d; Clock::now() < until && !stop_.load();) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
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

  // While the model cannot take the batch: retry with a growing delay. Nothing is read
  // meanwhile: the broker stops sending once `in_flight` messages are unacknowledged.
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

  // The topic `pattern` names for a message on `topic` ({1}: the source filter's first wildcard).
  core::Result<std::string> TopicFor(std::string_view pattern, std::string_view topic) const {
    const auto levels = MatchFilter(spec_.source_topic, topic);
    return ExpandTopic(pattern, levels ? *levels : std::vector<std::string_view>());
  }

  // A dead letter: on MQTT 5 the message itself with the reason in user properties; on 3.1.1 a
  // JSON envelope (3.1.1 has no properties) with the message as a string.
  Message DeadLetter(const Message& event, DeadLetterClass kind, std::string_view stage, std::string_view reason,
                     std::string topic) const {
    Message p;
    p.topic = std::move(topic);
    p.qos = static_cast<std::uint8_t>(spec_.mqtt.errors_qos);
    if (options_.connect.version == Version::k5) {
      p.payload = event.payload;
      p.properties.user = {{"ferry-error", std::string(reason)},
                           {"ferry-error-class", std::string(ClassName(kind))},
                           {"ferry-stage", std::string(stage)},
                           {"ferry-stream", spec_.name},
                           {"ferry-source", event.topic}};
      p.properties.content_type = event.properties.content_type;
    } else {
      core::JsonWriter w(p.payload);
      w.BeginObject();
      for (const auto& [key, value] : {std::pair<std::string_view, std::string_view>{"error", reason},
                                       {"class", ClassName(kind)},
                                       {"stage", stage},
                                       {"stream", spec_.name},
                                       {"topic", event.topic},
                                       {"payload", event.payload}}) {
        w.Key(key);
        w.String(value);
      }
      w.EndObject();
    }
    return p;
  }

  // Publishes what the batch's messages lead to. Returns false when the stream cannot go on
  // with this batch (the connection failed, or it stopped for good).
  bool PublishOutcomes(const std::vector<mqtt::Message>& batch, const std::vector<Outcome>& outcomes, std::size_t& answers,
               std::size_t& dead) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const mqtt::Message& event = batch[i];
      const Outcome& o = outcomes[i];
      const bool request = event.properties.response_topic.has_value();
      core::Result<void> sent;
      if (o.kind == Outcome::Kind::kAnswer) {
        mqtt::Message answer;
        if (request) {
          answer.topic = *event.properties.response_topic;
          answer.properties.correlation_data = event.properties.correlation_data;
        } else if (auto topic = TopicFor(spec_.sink_topic, event.topic)) {
          answer.topic = std::move(*topic);
        } else {
          sent = SendDeadLetter(event, DeadLetterClass::kDecode, "sink", topic.error().message, dead);
          if (!sent) return Broken(sent.error());
          continue;
        }
        answer.qos = static_cast<std::uint8_t>(spec_.mqtt.sink_qos);
        answer.payload = o.value;
        if (!o.route.model.empty()) {
          answer.properties.user = {{"ferry-model", o.route.model}, {"ferry-model-version", std::to_string(o.route.version)}};
          if (!o.route.route.empty()) answer.properties.user.emplace_back("ferry-route", o.route.route);
          if (!o.route.decision_id.empty()) answer.properties.user.emplace_back("ferry-decision-id", o.route.decision_id);
        }
        answer.properties.user.emplace_back("ferry-source", event.topic);
        sent = client_->Publish(std::move(answer));
        ++answers;
      } else if (o.kind == Outcome::Kind::kDeadLetter) {
        if (request) {  // the caller waits for an answer: it gets the reason
          mqtt::Message reply = DeadLetter(event, o.error_class, o.stage, o.value, *event.properties.response_topic);
          reply.properties.correlation_data = event.properties.correlation_data;
          reply.payload.clear();
          core::JsonWriter w(reply.payload);
          w.BeginObject();
          w.Key("error");
          w.String(o.value);
          w.EndObject();
          if (auto r = client_->Publish(std::move(reply)); !r) return Broken(r.error());
        }
        sent = SendDeadLetter(event, o.error_class, o.stage, o.value, dead);
      } else if (o.kind == Outcome::Kind::kSkip) {
        ++counters_->skipped;
      }
      if (!sent) return Broken(sent.error());
      if (states_.state() == StreamState::kStopped) return false;
    }
    return true;
  }

  core::Result<void> SendDeadLetter(const mqtt::Message& event, DeadLetterClass kind, std::string_view stage,
                                    std::string_view reason, std::size_t& dead) {
    if (!spec_.tolerate_errors) {
      states_.Enter(StreamState::kStopped, fmt::format("a bad message on '{}' ({}: {}) under errors tolerance none; it "
                                                       "stays unacknowledged", event.topic, stage, reason));
      return {};
    }
    auto topic = TopicFor(spec_.errors_topic, event.topic);
    if (!topic) topic = spec_.errors_topic;  // a pattern the topic does not fill: the pattern itself
    ++counters_->dead_letters[static_cast<std::size_t>(kind)];
    ++dead;
    return client_->Publish(DeadLetter(event, kind, stage, reason, std::move(*topic)));
  }

  bool Broken(const core::Error& error) {
    if (!client_->failed()) states_.Enter(StreamState::kStopped, error.message);
    return false;
  }

  void Process(std::vector<mqtt::Message>& batch) {
    // Retained messages are old news (the last value of a topic, sent on subscribing): not
    // answered unless asked.
    std::vector<mqtt::Message> fresh;
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
    std::vector<MqttEvent> events;
    std::vector<const Event*> views;
    events.reserve(fresh.size());
    for (const auto& m : fresh) views.push_back(&events.emplace_back(m));
    health_->SetInFlight(fresh.size());
    const auto outcomes = inference_.Infer(views);
    if (!outcomes) return;  // stopping, or the connection failed: the broker sends them again
    std::size_t answers = 0, dead = 0;
    if (!PublishOutcomes(fresh, *outcomes, answers, dead)) return;
    if (auto published = client_->AwaitPublished(Clock::now() + std::chrono::seconds(60)); !published) {
      Broken(published.error());
      return;
    }
    for (const auto id : acks) client_->Acknowledge(id);
    counters_->produced += answers;
    counters_->errors += dead;
    ++counters_->commits;
    health_->SetInFlight(0);
    if (states_.settled() != StreamState::kRunning) states_.Settle(StreamState::kRunning);
  }

  void Run() {
    std::vector<mqtt::Message> batch;
    while (!stop_.load() && states_.state() != StreamState::kStopped) {
      if (!client_ || client_->failed()) {
        if (client_) {
          states_.Enter(StreamState::kBackingOff, client_->failure());
          client_.reset();
        }
        if (!Connect()) break;
      }
      batch.clear();
      const auto max = static_cast<std::size_t>(spec_.max_events);
      if (client_->Take(batch, max, std::chrono::milliseconds(100)) == 0) continue;
      const auto deadline = Clock::now() + std::chrono::milliseconds(spec_.max_wait_ms);
      while (batch.size() < max && !stop_.load()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || client_->Take(batch, max - batch.size(), left) == 0) break;
      }
      counters_->consumed += batch.size();
      Process(batch);
    }
    client_.reset();  // DISCONNECT: the session and what is unacknowledged stay with the broker
  }

  StreamSpec spec_;
  ClientOptions options_;
  runtime::Server& server_;
  std::shared_ptr<StreamCounters> counters_ = std::make_shared<StreamCounters>();
  std::shared_ptr<StreamHealth> health_ = std::make_shared<StreamHealth>();
  StateKeeper states_{spec_.name, *health_};
  BatchInference inference_{spec_, server_, *counters_,
                            [this](std::string_view what, const std::function<std::optional<core::Error>()>& attempt) {
                              return WithBackpressure(what, attempt);
                            },
                            [] {}};
  std::unique_ptr<Client> client_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

core::Result<std::unique_ptr<RunningStream>> MqttStream::Start(const MqttConfig& mqtt, const StreamSpec& spec,
                                                               runtime::Server& server) {
  FERRY_ASSIGN_OR_RETURN(auto options, OptionsFor(mqtt, spec));
  spdlog::info("stream '{}': mqtt {} (QoS {}) -> {} -> {} (errors: {}), batches of up to {} events / {} ms",
               spec.name, spec.source_topic, spec.mqtt.source_qos, spec.model, spec.sink_topic,
               spec.tolerate_errors ? spec.errors_topic : "none: the stream stops at a bad message", spec.max_events,
               spec.max_wait_ms);
  auto stream = std::make_unique<Stream>(spec, std::move(options), server);
  stream->Start();
  return stream;
}

}  // namespace ferry::stream::mqtt
