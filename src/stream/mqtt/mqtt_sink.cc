#include "stream/mqtt/mqtt_sink.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "stream/event_codec.h"

namespace ferry::stream::mqtt {
namespace {

using Clock = std::chrono::steady_clock;

std::string DefaultClientId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) return "ferry";
  return fmt::format("ferry-{}", host);
}

}  // namespace

core::Result<ClientOptions> ClientOptionsFor(const MqttConfig& config, std::string_view who) {
  FERRY_ASSIGN_OR_RETURN(ClientOptions o, ParseBrokerUrl(config.broker));
  o.tls = o.tls || !config.tls_ca.empty() || !config.tls_cert.empty();
  o.tls_options = {.ca_file = config.tls_ca, .cert_file = config.tls_cert, .key_file = config.tls_key,
                   .verify_host = config.tls_verify_host};
  Connect& c = o.connect;
  c.version = config.version == "3.1.1" ? Version::k311 : Version::k5;
  c.client_id = fmt::format("{}-{}", config.client_id.empty() ? DefaultClientId() : config.client_id, who);
  c.keep_alive_s = static_cast<std::uint16_t>(config.keep_alive_s);
  if (config.has_username) c.username = config.username;
  if (config.has_password) c.password = config.password;
  c.session_expiry_s = static_cast<std::uint32_t>(config.session_expiry_s);
  return o;
}

MqttSink::MqttSink(const StreamSpec& spec, StreamCounters& counters, OffsetLedger& ledger, ClientOptions options)
    : spec_(spec), counters_(counters), ledger_(ledger), options_(std::move(options)) {
  // The sink keeps what the broker has not acknowledged itself: a session would only keep it twice.
  options_.connect.clean = true;
  options_.connect.session_expiry_s = 0;
}

MqttSink::~MqttSink() = default;

core::Result<std::string> MqttSink::TopicFor(std::string_view pattern, std::string_view topic) const {
  std::optional<std::vector<std::string_view>> levels;
  if (spec_.source_transport == Transport::kMqtt) levels = MatchFilter(spec_.source_topic, topic);
  return ExpandTopic(pattern, levels ? *levels : std::vector<std::string_view>());
}

bool MqttSink::Connected() {
  if (client_ && client_->failed()) Disconnected(client_->failure());
  if (client_) return true;
  if (Clock::now() < next_attempt_) return false;
  auto client = Client::Open(options_, std::chrono::seconds(10));
  if (!client) {
    trouble_ = client.error().message;
    next_attempt_ = Clock::now() + delay_;
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(10000));
    return false;
  }
  client_ = std::move(*client);
  trouble_.clear();
  delay_ = std::chrono::milliseconds(200);
  spdlog::info("stream '{}': publishing on {}:{} as '{}'", spec_.name, options_.host, options_.port,
               options_.connect.client_id);
  std::deque<Pending> queued = std::exchange(unsent_, {});
  for (auto& p : queued) Send(std::move(p));
  return client_ != nullptr;
}

void MqttSink::Disconnected(std::string why) {
  spdlog::warn("stream '{}': the sink's connection failed ({}); {} message(s) will be sent again", spec_.name, why,
               in_flight_.size() + unsent_.size());
  client_.reset();
  trouble_ = std::move(why);
  // What was in flight goes first, in the order it was published.
  for (auto it = in_flight_.rbegin(); it != in_flight_.rend(); ++it) {
    it->message.dup = true;
    unsent_.push_front(std::move(*it));
  }
  in_flight_.clear();
  next_attempt_ = Clock::now() + delay_;
}

std::string MqttSink::Trouble() { return Connected() ? std::string() : "sink: " + trouble_; }

void MqttSink::Send(Pending pending) {
  if (!client_) {
    unsent_.push_back(std::move(pending));
    return;
  }
  if (auto sent = client_->Publish(pending.message); !sent) {
    unsent_.push_back(std::move(pending));
    Disconnected(sent.error().message);
    return;
  }
  if (pending.message.qos == 0) {
    ledger_.Acknowledge(pending.batch);
    return;
  }
  in_flight_.push_back(std::move(pending));
}

void MqttSink::Write(Pending pending) {
  ledger_.Expect(pending.batch);
  if (Connected()) {
    Send(std::move(pending));
  } else {
    unsent_.push_back(std::move(pending));
  }
}

void MqttSink::Answer(const Event& event, std::string_view value, const routing::RouteInfo& route,
                      std::string_view traceparent, OffsetLedger::Batch* batch) {
  Message answer;
  if (const auto reply = spec_.source_transport == Transport::kMqtt ? event.Reply() : std::nullopt) {
    answer = ReplyMessage(*reply);
  } else if (auto topic = TopicFor(spec_.sink_topic, event.Topic())) {
    answer.topic = std::move(*topic);
  } else {
    DeadLetter(event, DeadLetterClass::kDecode, "sink", topic.error().message, traceparent, batch);
    return;
  }
  answer.qos = static_cast<std::uint8_t>(spec_.mqtt.sink_qos);
  answer.payload = value;
  route.ForEachField([&](std::string_view name, std::string_view field) {
    answer.properties.user.emplace_back(name, field);
  });
  std::string source = event.Origin();
  answer.properties.user.emplace_back("ferry-source", source);
  if (!traceparent.empty()) {
    answer.properties.user.emplace_back("traceparent", traceparent);
    if (const auto state = event.Header("tracestate")) answer.properties.user.emplace_back("tracestate", *state);
  }
  ++counters_.produced;
  Write({std::move(answer), batch, true, std::move(source)});
}

Message MqttSink::ReplyMessage(const ReplyTo& reply) const {
  Message m;
  m.topic = reply.topic;
  if (reply.correlation) m.properties.correlation_data = std::string(*reply.correlation);
  m.qos = static_cast<std::uint8_t>(spec_.mqtt.sink_qos);
  return m;
}

void MqttSink::WriteDeadLetter(std::string_view payload, const std::string& source, DeadLetterClass kind,
                               std::string_view stage, std::string_view reason, std::string_view traceparent,
                               OffsetLedger::Batch* batch) {
  ++counters_.errors;
  ++counters_.dead_letters[static_cast<std::size_t>(kind)];
  Message p;
  auto topic = TopicFor(spec_.errors_topic, source);
  p.topic = topic ? std::move(*topic) : spec_.errors_topic;  // a pattern the topic does not fill: as it is
  p.qos = static_cast<std::uint8_t>(spec_.mqtt.errors_qos);
  if (options_.connect.version == Version::k5) {
    p.payload = payload;
    p.properties.user = {{"ferry-error", std::string(reason)},
                         {"ferry-error-class", std::string(ClassName(kind))},
                         {"ferry-stage", std::string(stage)},
                         {"ferry-stream", spec_.name},
                         {"ferry-source", source}};
    if (!traceparent.empty()) p.properties.user.emplace_back("traceparent", traceparent);
  } else {
    core::JsonWriter w(p.payload);
    w.BeginObject();
    for (const auto& [key, value] : {std::pair<std::string_view, std::string_view>{"error", reason},
                                     {"class", ClassName(kind)},
                                     {"stage", stage},
                                     {"stream", spec_.name},
                                     {"topic", source},
                                     {"payload", payload}}) {
      w.Key(key);
      w.String(value);
    }
    w.EndObject();
  }
  Write({std::move(p), batch, false, source});
}

void MqttSink::DeadLetter(const Event& event, DeadLetterClass kind, std::string_view stage, std::string_view reason,
                          std::string_view traceparent, OffsetLedger::Batch* batch) {
  if (!spec_.tolerate_errors) {
    Fail(fmt::format("a bad message on '{}' ({}: {}) under errors tolerance none; it stays unacknowledged",
                     event.Origin(), stage, reason));
    return;
  }
  if (const auto reply = spec_.source_transport == Transport::kMqtt ? event.Reply() : std::nullopt) {
    Message answer = ReplyMessage(*reply);  // the caller waits for an answer: it gets the reason
    answer.payload = EncodeEventError(reason);
    answer.properties.user = {{"ferry-error-class", std::string(ClassName(kind))}};
    Write({std::move(answer), batch, false, event.Origin()});
  }
  WriteDeadLetter(event.Payload(), event.Origin(), kind, stage, reason, traceparent, batch);
}

void MqttSink::Poll(int timeout_ms) {
  if (!Connected()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, 50)));
    return;
  }
  std::vector<Published> acknowledged;
  client_->TakeAcknowledged(acknowledged, std::chrono::milliseconds(timeout_ms));
  for (const Published& ack : acknowledged) {
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const Pending& p) { return p.message.id == ack.id; });
    if (it == in_flight_.end()) continue;
    Pending done = std::move(*it);
    in_flight_.erase(it);
    if (!ack.refused.empty()) {
      const std::string why = fmt::format("the broker refused the message to '{}': {}", done.message.topic, ack.refused);
      if (done.answer && spec_.tolerate_errors) {
        --counters_.produced;
        WriteDeadLetter(done.message.payload, done.source, DeadLetterClass::kRefused, "sink", why, {}, done.batch);
      } else {
        Fail(why);
      }
    }
    ledger_.Acknowledge(done.batch);
  }
  if (client_ && client_->failed()) Disconnected(client_->failure());
}

void MqttSink::Flush(int timeout_ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while ((!in_flight_.empty() || !unsent_.empty()) && failure_.empty() && Clock::now() < until) Poll(10);
}

void MqttSink::Fail(std::string why) {
  if (failure_.empty()) failure_ = std::move(why);
}

}  // namespace ferry::stream::mqtt
