// MqttSink: a stream's answers and dead letters on MQTT topics (event_sink.h), from a source on
// either transport. The sink topic is a pattern: {1}, {2}, ... take an MQTT source topic's
// wildcard levels (plant/{1}/scores). A request from an MQTT source (MQTT 5 Response Topic) is
// answered on its Response Topic with its Correlation Data, a bad one with {"error": ...} there
// too. Dead letters carry the reason in user properties (ferry-error, -class, -stage, -stream,
// -source) on MQTT 5, and are a JSON envelope on 3.1.1, which has no properties.
//
// The sink has its own connection (client id <client_id>-<stream>-sink, clean session): it keeps
// every QoS 1 message until the broker acknowledges it, and when the connection fails it connects
// again (backing off 0.2 s doubling to 10 s) and sends them again, in order -- so a batch's
// source messages are acknowledged only once all it led to is with the broker, whatever
// happened between. A QoS 0 message is acknowledged once it is handed to the connection. An
// answer the broker refuses (an MQTT 5 failure reason code: not authorized, ...) becomes a dead
// letter of class `refused`; a dead letter it refuses stops the stream.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "stream/event_sink.h"
#include "stream/mqtt/client.h"
#include "stream/stream_config.h"

namespace ferry::stream::mqtt {

// The connection ferry.yaml's `mqtt:` section describes, as client `<client_id>-<who>`.
core::Result<ClientOptions> ClientOptionsFor(const MqttConfig& config, std::string_view who);

class MqttSink final : public EventSink {
 public:
  MqttSink(const StreamSpec& spec, StreamCounters& counters, OffsetLedger& ledger, ClientOptions options);
  ~MqttSink() override;

  std::string Ready() override { return Trouble(); }
  std::string Trouble() override;  // connects when not connected (at most one attempt a back-off)
  void Answer(const Event& event, std::string_view value, const routing::RouteInfo& route,
              std::string_view traceparent, OffsetLedger::Batch* batch) override;
  void DeadLetter(const Event& event, DeadLetterClass kind, std::string_view stage, std::string_view reason,
                  std::string_view traceparent, OffsetLedger::Batch* batch) override;
  void Poll(int timeout_ms) override;
  void Flush(int timeout_ms) override;
  const std::string& failure() const override { return failure_; }

 private:
  struct Pending {
    Message message;
    OffsetLedger::Batch* batch;
    bool answer;  // a refused answer becomes a dead letter; a refused dead letter stops the stream
    std::string source;  // the event's origin (ferry-source), for that dead letter
  };

  // The topic `pattern` names for an event on `topic`.
  core::Result<std::string> TopicFor(std::string_view pattern, std::string_view topic) const;
  // A message to a request's reply topic, with its correlation data.
  Message ReplyMessage(const ReplyTo& reply) const;
  // Counts and writes a dead letter of `payload` (from the event `source`) to the error topic: on
  // MQTT 5 the payload with ferry's user properties, on 3.1.1 a JSON envelope.
  // `traceparent`, when not empty, goes with it (MQTT 5).
  void WriteDeadLetter(std::string_view payload, const std::string& source, DeadLetterClass kind,
                       std::string_view stage, std::string_view reason, std::string_view traceparent,
                       OffsetLedger::Batch* batch);
  void Write(Pending pending);       // expected in the ledger, published or queued for a connection
  void Send(Pending pending);        // publishes on the connection, or queues when it fails
  bool Connected();                  // a live connection, or an attempt to make one was due and worked
  void Disconnected(std::string why);  // what was in flight is sent again on the next connection
  void Fail(std::string why);

  const StreamSpec& spec_;
  StreamCounters& counters_;
  OffsetLedger& ledger_;
  ClientOptions options_;
  std::unique_ptr<Client> client_;
  std::deque<Pending> in_flight_;  // published on this connection, not yet acknowledged, in order
  std::deque<Pending> unsent_;     // waiting for a connection
  std::string trouble_;            // why there is no connection
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds delay_{200};
  std::string failure_;
};

}  // namespace ferry::stream::mqtt
