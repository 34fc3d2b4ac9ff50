// mqtt::Client: one connection to an MQTT broker (3.1.1 or 5), its I/O on its own thread (Asio).
// A stream reads the messages it receives with Take() and decides when each QoS 1 message is
// acknowledged (Acknowledge(): after its answer is published and acknowledged), which is why
// ferry has its own client (packet.h). Publish() keeps at most the broker's Receive Maximum
// QoS 1 messages unacknowledged; TakeAcknowledged() says which the broker has acknowledged.
//
// A connection that fails (the broker gone, a keep-alive unanswered, a malformed packet, the
// broker's DISCONNECT) stays failed: failure() says why and the owner opens a new one; with a
// persistent session (clean false) the broker then sends again what was not acknowledged.
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "stream/mqtt/packet.h"

namespace ferry::stream::mqtt {

struct TlsOptions {
  std::string ca_file;    // the CA that signed the broker's certificate (empty: the system's)
  std::string cert_file;  // a client certificate, and its key, for brokers that ask for one
  std::string key_file;
  bool verify_host = true;
};

// A QoS 1 publication the broker acknowledged; `refused` says why when its PUBACK's reason code
// is a failure (MQTT 5: not authorized, quota exceeded, ...), else empty.
struct Published {
  std::uint16_t id = 0;
  std::string refused;
};

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  bool tls = false;
  TlsOptions tls_options;
  Connect connect;  // version, client id, clean, keep alive, credentials, session expiry
  std::size_t max_packet_bytes = 16 << 20;  // larger packets from the broker fail the connection
};

class Client {
 public:
  // Connects (TCP, TLS when asked, CONNECT and its CONNACK) within `timeout`.
  static core::Result<std::unique_ptr<Client>> Open(const ClientOptions& options, std::chrono::milliseconds timeout);
  ~Client();  // DISCONNECTs when still connected, then closes

  bool session_present() const;
  Version version() const;

  // SUBSCRIBE and its SUBACK; an error when the broker refuses or grants a lower QoS than asked.
  core::Result<void> Subscribe(const std::string& filter, std::uint8_t qos, std::chrono::milliseconds timeout);

  // Sends `message`, waiting while the broker's window of unacknowledged messages is full; a
  // QoS 1 message gets its packet id (message.id). An error when the connection failed.
  core::Result<void> Publish(Message& message);
  // Moves the acknowledgements of QoS 1 publications received since the last call to `out`,
  // waiting up to `wait` for one.
  std::size_t TakeAcknowledged(std::vector<Published>& out, std::chrono::milliseconds wait);

  // Moves up to `max` received messages to `out`, waiting up to `wait` for the first.
  std::size_t Take(std::vector<Message>& out, std::size_t max, std::chrono::milliseconds wait);
  // Acknowledges a received QoS 1 message (PUBACK).
  void Acknowledge(std::uint16_t id);

  bool failed() const;
  std::string failure() const;  // why the connection failed, or empty

 private:
  struct Impl;
  explicit Client(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// "mqtt://host:port" (1883 by default), "mqtts://host:port" (8883; TLS), or "host:port".
core::Result<ClientOptions> ParseBrokerUrl(std::string_view url);

}  // namespace ferry::stream::mqtt
