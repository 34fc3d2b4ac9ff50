#include "stream/mqtt/mqtt_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>
#include <vector>

#include "stream/mqtt/client.h"
#include "stream/mqtt/mqtt_sink.h"
#include "stream/mqtt/packet.h"

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
  std::string_view Protocol() const override { return "mqtt"; }
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

class MqttSource final : public EventSource {
 public:
  MqttSource(StreamParts parts, ClientOptions options) : p_(parts), options_(std::move(options)) {}

  bool Open() override { return Connect(); }

  std::span<const Event* const> Read() override {
    batch_.clear();
    events_.clear();
    views_.clear();
    acks_.clear();
    if (!client_ || client_->failed()) {
      if (client_) {
        p_.states.Enter(StreamState::kBackingOff, client_->failure());
        client_.reset();
      }
      // What the lost connection held the broker sends again (the session): its packet ids are
      // not to be acknowledged on the new connection.
      p_.ledger.Clear();
      if (!Connect()) return {};
    }
    const auto max = static_cast<std::size_t>(p_.spec.max_events);
    // With answers awaiting their acknowledgement, look at them often.
    const auto wait = p_.ledger.Unacknowledged() > 0 ? std::chrono::milliseconds(2) : std::chrono::milliseconds(100);
    std::vector<Message> read;
    if (client_->Take(read, max, wait) > 0) {
      const auto deadline = Clock::now() + std::chrono::milliseconds(p_.spec.max_wait_ms);
      while (read.size() < max && !p_.stop.load()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || client_->Take(read, max - read.size(), left) == 0) break;
      }
    }
    p_.sink.Poll(0);
    Acknowledge(false);
    p_.counters.consumed += read.size();
    // Retained messages are old news (the last value of a topic, sent on subscribing): not
    // answered unless asked, but acknowledged with the batch.
    for (auto& m : read) {
      if (m.qos > 0) acks_.push_back(m.id);
      if (m.dup) ++p_.counters.duplicated;
      if (m.retain && !p_.spec.mqtt.retained) {
        ++p_.counters.skipped;
        continue;
      }
      if (!MatchFilter(p_.spec.source_topic, m.topic)) {
        // A persistent session keeps the subscriptions of an earlier ferry.yaml; MQTT has no way
        // to list them, so their messages are acknowledged and left unanswered.
        ++p_.counters.skipped;
        if (!warned_stale_) {
          spdlog::warn("stream '{}': a message on '{}', which '{}' does not match, came from a subscription an "
                       "earlier configuration left in session '{}'; such messages are skipped (a new client_id "
                       "starts a session without it)", p_.spec.name, m.topic, p_.spec.source_topic,
                       options_.connect.client_id);
          warned_stale_ = true;
        }
        continue;
      }
      batch_.push_back(std::move(m));
    }
    if (batch_.empty() && !acks_.empty()) p_.ledger.Decide(Record());  // only ones left unanswered
    events_.reserve(batch_.size());
    for (const auto& m : batch_) views_.push_back(&events_.emplace_back(m));
    return views_;
  }

  OffsetLedger::Batch* Record() override {
    OffsetLedger::Batch* batch = p_.ledger.Open({}, batch_.size(), std::move(acks_));
    acks_.clear();
    p_.health.SetInFlight(p_.ledger.EventsInFlight());
    return batch;
  }

  // PUBACKs, in the order received, the messages of every batch whose answers the sink's broker
  // has all acknowledged (and of every batch before it).
  void Acknowledge(bool) override {
    std::vector<std::uint16_t> ids;
    p_.ledger.TakeCommittable(&ids);
    if (client_ && !client_->failed()) {
      for (const auto id : ids) client_->Acknowledge(id);
    }
    p_.health.SetInFlight(p_.ledger.EventsInFlight());
    if (!ids.empty()) ++p_.counters.commits;
  }

  // Nothing is read while paused: the broker stops sending once `in_flight` messages wait.
  void Pause(bool) override {}

  void Wait(std::chrono::milliseconds duration) override {
    for (const auto until = Clock::now() + duration; Clock::now() < until && !p_.stop.load() && !Lost();) {
      p_.sink.Poll(std::min<int>(20, static_cast<int>(duration.count())));
      Acknowledge(false);
    }
  }

  bool Lost() const override { return client_ && client_->failed(); }

  // What is answered is acknowledged before leaving; the rest the broker keeps for the session.
  void Close() override {
    if (p_.states.state() != StreamState::kStopped) {
      for (const auto until = Clock::now() + std::chrono::seconds(30);
           p_.ledger.Unacknowledged() > 0 && p_.sink.failure().empty() && Clock::now() < until;) {
        p_.sink.Poll(10);
        Acknowledge(true);
      }
      Acknowledge(true);
    }
    client_.reset();  // DISCONNECT: the session and what is unacknowledged stay with the broker
  }

 private:
  std::string Filter() const {
    return p_.spec.mqtt.shared_group.empty() ? p_.spec.source_topic
                                             : fmt::format("$share/{}/{}", p_.spec.mqtt.shared_group,
                                                           p_.spec.source_topic);
  }

  // Connects and subscribes, backing off while the broker cannot be reached or refuses.
  bool Connect() {
    auto delay = std::chrono::milliseconds(200);
    while (!p_.stop.load()) {
      auto client = Client::Open(options_, std::chrono::seconds(10));
      if (client) {
        auto subscribed = (*client)->Subscribe(Filter(), static_cast<std::uint8_t>(p_.spec.mqtt.source_qos),
                                               std::chrono::seconds(10));
        if (subscribed) {
          client_ = std::move(*client);
          spdlog::info("stream '{}': subscribed to '{}' on {}:{} as '{}' (session {})", p_.spec.name, Filter(),
                       options_.host, options_.port, options_.connect.client_id,
                       client_->session_present() ? "resumed" : "new");
          p_.states.Settle(StreamState::kAssigned);
          return true;
        }
        p_.states.Enter(StreamState::kBackingOff, subscribed.error().message);
      } else {
        p_.states.Enter(StreamState::kBackingOff, client.error().message);
      }
      Wait(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(10000));
    }
    return false;
  }

  StreamParts p_;
  ClientOptions options_;
  std::unique_ptr<Client> client_;
  std::vector<Message> batch_;  // the batch in hand, retained messages left out
  std::vector<std::uint16_t> acks_;  // its QoS 1 packet ids, retained ones included, in order
  std::vector<MqttEvent> events_;
  std::vector<const Event*> views_;
  bool warned_stale_ = false;
};

}  // namespace

core::Result<std::unique_ptr<EventSource>> MakeMqttSource(const MqttConfig& config, StreamParts parts) {
  FERRY_ASSIGN_OR_RETURN(auto options, ClientOptionsFor(config, parts.spec.name));
  // One session a stream: the broker keeps each stream's unacknowledged messages apart.
  options.connect.clean = false;
  options.connect.receive_maximum = static_cast<std::uint16_t>(
      parts.spec.mqtt.in_flight > 0 ? parts.spec.mqtt.in_flight : std::min(65535, 2 * parts.spec.max_events));
  return std::unique_ptr<EventSource>(std::make_unique<MqttSource>(parts, std::move(options)));
}

}  // namespace ferry::stream::mqtt
