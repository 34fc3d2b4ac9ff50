#include "stream/mqtt/client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <charconv>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace ferry::stream::mqtt {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kInboxLimit = 65536;  // received messages not yet taken

}  // namespace

struct Client::Impl {
  ClientOptions options;
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  asio::ssl::stream<tcp::socket> stream{io, tls};
  tcp::resolver resolver{io};
  asio::steady_timer keep_alive{io};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;

  // The I/O thread's own.
  std::deque<std::string> outbox;
  std::string writing_buffer;
  bool writing = false;
  bool closing = false;  // Stop(): the DISCONNECT is queued
  std::string read_buffer;
  std::atomic<bool> reading_paused{false};  // the inbox is full (Parse); written by the I/O thread
  std::array<char, 65536> chunk{};
  Clock::time_point last_sent = Clock::now();
  Clock::time_point last_received = Clock::now();

  // Shared with callers, under `mu`.
  mutable std::mutex mu;
  std::condition_variable changed;
  std::string failure;
  std::optional<Connack> connack;
  std::optional<Suback> suback;
  std::deque<Message> inbox;
  std::set<std::uint16_t> unacknowledged;  // QoS 1 messages we published
  std::uint16_t next_id = 1;
  std::size_t window = 1024;  // the broker's Receive Maximum (5); a bound of ours for 3.1.1
  std::vector<Published> acknowledged;  // PUBACKs not yet taken (TakeAcknowledged)
  bool flushed = false;       // everything up to the DISCONNECT is written

  explicit Impl(ClientOptions o) : options(std::move(o)) {}

  bool UsesTls() const { return options.tls; }
  tcp::socket& Socket() { return stream.next_layer(); }

  // Ends the connection for good; the first reason stays.
  void Fail(std::string why) {
    {
      std::lock_guard lock(mu);
      if (!failure.empty()) return;
      failure = std::move(why);
    }
    changed.notify_all();
    asio::post(io, [this] {
      boost::system::error_code ignored;
      keep_alive.cancel();
      resolver.cancel();  // a name still being looked up
      Socket().shutdown(tcp::socket::shutdown_both, ignored);
      Socket().close(ignored);
    });
  }

  bool Failed() const {
    std::lock_guard lock(mu);
    return !failure.empty();
  }

  void Send(std::string bytes) {
    asio::post(io, [this, bytes = std::move(bytes)]() mutable {
      outbox.push_back(std::move(bytes));
      if (!writing) WriteNext();
    });
  }

  // One write for everything queued (many small publications make one segment).
  void WriteNext() {
    if (outbox.empty() || Failed()) {
      writing = false;
      if (closing) {
        {
          std::lock_guard lock(mu);
          flushed = true;
        }
        changed.notify_all();
      }
      return;
    }
    writing = true;
    writing_buffer.clear();
    while (!outbox.empty()) {
      writing_buffer.append(outbox.front());
      outbox.pop_front();
    }
    last_sent = Clock::now();
    auto done = [this](const boost::system::error_code& ec, std::size_t) {
      if (ec) return Fail(fmt::format("mqtt: writing to the broker: {}", ec.message()));
      WriteNext();
    };
    if (UsesTls()) {
      asio::async_write(stream, asio::buffer(writing_buffer), done);
    } else {
      asio::async_write(Socket(), asio::buffer(writing_buffer), done);
    }
  }

  void ReadNext() {
    auto done = [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) {
        return Fail(ec == asio::error::eof ? std::string("mqtt: the broker closed the connection")
                                           : fmt::format("mqtt: reading from the broker: {}", ec.message()));
      }
      last_received = Clock::now();
      read_buffer.append(chunk.data(), n);
      if (Parse() && !reading_paused) ReadNext();
    };
    if (UsesTls()) {
      stream.async_read_some(asio::buffer(chunk), done);
    } else {
      Socket().async_read_some(asio::buffer(chunk), done);
    }
  }

  // Dispatches the whole packets read so far; false when the connection failed. Reading pauses
  // while kInboxLimit messages wait to be taken (QoS 0 messages have no Receive Maximum: TCP's
  // flow control is their backpressure).
  bool Parse() {
    std::size_t at = 0;
    while (true) {
      auto size = FrameSize(std::string_view(read_buffer).substr(at), options.max_packet_bytes);
      if (!size) {
        Fail(size.error().message);
        return false;
      }
      if (!*size) break;
      auto packet = DecodePacket(std::string_view(read_buffer).substr(at, **size), options.connect.version);
      if (!packet) {
        Fail(packet.error().message);
        return false;
      }
      at += **size;
      if (!Dispatch(std::move(*packet))) return false;
      std::lock_guard lock(mu);
      if (inbox.size() >= kInboxLimit) {
        reading_paused = true;
        break;
      }
    }
    read_buffer.erase(0, at);
    return true;
  }

  // Take() made room: parse what was held back, then read again.
  void ResumeReading() {
    if (!reading_paused || Failed()) return;
    reading_paused = false;
    last_received = Clock::now();
    if (Parse() && !reading_paused) ReadNext();
  }

  // Returns false when the packet ended the connection.
  bool Dispatch(Packet packet) {
    const Version v = options.connect.version;
    if (auto* p = std::get_if<Message>(&packet)) {
      if (p->qos > 1) {
        Fail("mqtt: the broker sent a QoS 2 message to a QoS 1 subscription");
        return false;
      }
      {
        std::lock_guard lock(mu);
        inbox.push_back(std::move(*p));
      }
      changed.notify_all();
    } else if (auto* a = std::get_if<Ack>(&packet)) {
      if (a->type != PacketType::kPuback) {
        Fail("mqtt: a QoS 2 acknowledgement for a QoS 1 publication");
        return false;
      }
      {
        std::lock_guard lock(mu);
        if (unacknowledged.erase(a->id) == 1) {  // an id not in flight acknowledges nothing
          Published done{.id = a->id, .refused = {}};
          if (a->code >= 0x80) {
            done.refused = CodeText(a->code, v, false);
            if (a->properties.reason_string) done.refused += ": " + *a->properties.reason_string;
          }
          acknowledged.push_back(std::move(done));
        }
      }
      changed.notify_all();
    } else if (auto* c = std::get_if<Connack>(&packet)) {
      {
        std::lock_guard lock(mu);
        if (c->properties.receive_maximum) window = *c->properties.receive_maximum;
        connack = std::move(*c);
      }
      changed.notify_all();
    } else if (auto* s = std::get_if<Suback>(&packet)) {
      {
        std::lock_guard lock(mu);
        suback = std::move(*s);
      }
      changed.notify_all();
    } else if (auto* d = std::get_if<Disconnect>(&packet)) {
      std::string why = fmt::format("mqtt: the broker disconnected: {}", CodeText(d->code, v, false));
      if (d->properties.reason_string) why += " (" + *d->properties.reason_string + ")";
      Fail(std::move(why));
      return false;
    }
    return true;  // PINGRESP: last_received is all it says
  }

  // Pings when nothing was sent for half the keep-alive; fails when the broker said nothing for
  // one and a half (MQTT's own rule for the broker's side).
  void KeepAlive() {
    const auto period = std::chrono::seconds(options.connect.keep_alive_s);
    if (period.count() == 0) return;
    keep_alive.expires_after(std::chrono::milliseconds(250));
    keep_alive.async_wait([this, period](const boost::system::error_code& ec) {
      if (ec || Failed()) return;
      const auto now = Clock::now();
      if (!reading_paused && now - last_received > period * 3 / 2) {
        return Fail(fmt::format("mqtt: the broker did not answer for {} s (keep alive)", period.count() * 3 / 2));
      }
      if (now - last_sent >= period / 2) {
        outbox.push_back(EncodePingreq());
        if (!writing) WriteNext();
      }
      KeepAlive();
    });
  }

  void Start() {
    work.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
    resolver.async_resolve(options.host, std::to_string(options.port),
                           [this](const boost::system::error_code& ec, tcp::resolver::results_type endpoints) {
      if (ec) return Fail(fmt::format("mqtt: cannot resolve '{}': {}", options.host, ec.message()));
      asio::async_connect(Socket(), endpoints, [this](const boost::system::error_code& ec, const tcp::endpoint&) {
        if (ec) {
          return Fail(fmt::format("mqtt: cannot connect to {}:{}: {}", options.host, options.port, ec.message()));
        }
        boost::system::error_code ignored;
        Socket().set_option(tcp::no_delay(true), ignored);
        if (!UsesTls()) return Connected();
        if (!SSL_set_tlsext_host_name(stream.native_handle(), options.host.c_str())) {
          return Fail("mqtt: cannot set the TLS server name");
        }
        stream.async_handshake(asio::ssl::stream_base::client, [this](const boost::system::error_code& ec) {
          if (ec) return Fail(fmt::format("mqtt: TLS handshake with {}: {}", options.host, ec.message()));
          Connected();
        });
      });
    });
  }

  void Connected() {
    last_received = Clock::now();
    outbox.push_back(EncodeConnect(options.connect));
    WriteNext();
    ReadNext();
    KeepAlive();
  }

  core::Result<void> ConfigureTls() {
    boost::system::error_code ec;
    const TlsOptions& t = options.tls_options;
    if (t.ca_file.empty()) {
      tls.set_default_verify_paths(ec);
    } else {
      tls.load_verify_file(t.ca_file, ec);
    }
    if (ec) return core::InvalidArgument(fmt::format("mqtt tls ca '{}': {}", t.ca_file, ec.message()));
    if (!t.cert_file.empty()) {
      tls.use_certificate_chain_file(t.cert_file, ec);
      if (ec) return core::InvalidArgument(fmt::format("mqtt tls cert '{}': {}", t.cert_file, ec.message()));
      tls.use_private_key_file(t.key_file.empty() ? t.cert_file : t.key_file, asio::ssl::context::pem, ec);
      if (ec) return core::InvalidArgument(fmt::format("mqtt tls key '{}': {}", t.key_file, ec.message()));
    }
    stream.set_verify_mode(asio::ssl::verify_peer);
    if (t.verify_host) stream.set_verify_callback(asio::ssl::host_name_verification(options.host));
    return {};
  }

  // A clean DISCONNECT (the broker keeps the session and drops no will), written before the
  // connection closes.
  void Stop() {
    if (!thread.joinable()) return;
    if (!Failed()) {
      asio::post(io, [this] {
        closing = true;
        outbox.push_back(EncodeDisconnect(options.connect.version));
        if (!writing) WriteNext();
      });
      std::unique_lock lock(mu);
      changed.wait_for(lock, std::chrono::seconds(1), [&] { return flushed || !failure.empty(); });
    }
    Fail("mqtt: closed");
    work.reset();
    thread.join();
  }
};

Client::Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  if (impl_) impl_->Stop();
}

core::Result<std::unique_ptr<Client>> Client::Open(const ClientOptions& options, std::chrono::milliseconds timeout) {
  auto impl = std::make_shared<Impl>(options);
  if (options.tls) FERRY_RETURN_IF_ERROR(impl->ConfigureTls());
  std::unique_ptr<Client> client(new Client(impl));
  impl->Start();
  std::unique_lock lock(impl->mu);
  if (!impl->changed.wait_for(lock, timeout, [&] { return impl->connack || !impl->failure.empty(); })) {
    lock.unlock();
    impl->Fail(fmt::format("mqtt: no CONNACK from {}:{} within {} ms", options.host, options.port, timeout.count()));
    lock.lock();
  }
  // A refusal first: the broker closes the connection right after its CONNACK says why.
  if (impl->connack && impl->connack->code != 0) {
    const std::string why = fmt::format("mqtt: {}:{} refused the connection: {}", options.host, options.port,
                                        CodeText(impl->connack->code, options.connect.version, true));
    lock.unlock();
    impl->Fail(why);
    return core::Unavailable(why);
  }
  if (!impl->failure.empty()) return core::Unavailable(impl->failure);
  if (options.connect.version == Version::k311) impl->window = 1024;
  return client;
}

bool Client::session_present() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connack && impl_->connack->session_present;
}

Version Client::version() const { return impl_->options.connect.version; }

core::Result<void> Client::Subscribe(const std::string& filter, std::uint8_t qos, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->suback.reset();
  }
  constexpr std::uint16_t kSubscribeId = 1;  // publications take ids too, but never concurrently with this
  impl_->Send(EncodeSubscribe(kSubscribeId, filter, qos, impl_->options.connect.version));
  std::unique_lock lock(impl_->mu);
  if (!impl_->changed.wait_for(lock, timeout, [&] { return impl_->suback || !impl_->failure.empty(); })) {
    return core::Unavailable(fmt::format("mqtt: no SUBACK for '{}' within {} ms", filter, timeout.count()));
  }
  if (!impl_->failure.empty()) return core::Unavailable(impl_->failure);
  const std::uint8_t code = impl_->suback->codes.front();
  if (code >= 0x80) {
    return core::InvalidArgument(fmt::format("mqtt: the broker refused the subscription to '{}': {}", filter,
                                             CodeText(code, impl_->options.connect.version, false)));
  }
  if (code < qos) {
    return core::InvalidArgument(fmt::format("mqtt: the broker granted QoS {} for '{}' where {} was asked", code, filter,
                                             qos));
  }
  return {};
}

core::Result<void> Client::Publish(mqtt::Message& message) {
  {
    std::unique_lock lock(impl_->mu);
    if (message.qos > 0) {
      impl_->changed.wait(lock, [&] {
        return impl_->unacknowledged.size() < impl_->window || !impl_->failure.empty();
      });
    }
    if (!impl_->failure.empty()) return core::Unavailable(impl_->failure);
    if (message.qos > 0) {
      // Id 1 is the subscription's; the others go round, skipping those still in flight.
      do {
        message.id = impl_->next_id;
        impl_->next_id = impl_->next_id == 65535 ? 2 : static_cast<std::uint16_t>(impl_->next_id + 1);
      } while (message.id < 2 || impl_->unacknowledged.contains(message.id));
      impl_->unacknowledged.insert(message.id);
    }
  }
  impl_->Send(EncodePublish(message, impl_->options.connect.version));
  return {};
}

std::size_t Client::TakeAcknowledged(std::vector<Published>& out, std::chrono::milliseconds wait) {
  std::unique_lock lock(impl_->mu);
  impl_->changed.wait_for(lock, wait, [&] { return !impl_->acknowledged.empty() || !impl_->failure.empty(); });
  const std::size_t n = impl_->acknowledged.size();
  for (auto& p : impl_->acknowledged) out.push_back(std::move(p));
  impl_->acknowledged.clear();
  return n;
}

std::size_t Client::Take(std::vector<mqtt::Message>& out, std::size_t max, std::chrono::milliseconds wait) {
  std::unique_lock lock(impl_->mu);
  impl_->changed.wait_for(lock, wait, [&] { return !impl_->inbox.empty() || !impl_->failure.empty(); });
  std::size_t n = 0;
  while (n < max && !impl_->inbox.empty()) {
    out.push_back(std::move(impl_->inbox.front()));
    impl_->inbox.pop_front();
    ++n;
  }
  if (impl_->reading_paused.load() && impl_->inbox.size() < kInboxLimit / 2) {
    lock.unlock();
    asio::post(impl_->io, [impl = impl_.get()] { impl->ResumeReading(); });
  }
  return n;
}

void Client::Acknowledge(std::uint16_t id) { impl_->Send(EncodePuback(id, impl_->options.connect.version)); }

bool Client::failed() const { return impl_->Failed(); }

std::string Client::failure() const {
  std::lock_guard lock(impl_->mu);
  return impl_->failure;
}

core::Result<ClientOptions> ParseBrokerUrl(std::string_view url) {
  ClientOptions o;
  std::string_view rest = url;
  if (rest.starts_with("mqtt://") || rest.starts_with("tcp://")) {
    rest.remove_prefix(rest.find("://") + 3);
  } else if (rest.starts_with("mqtts://") || rest.starts_with("ssl://")) {
    rest.remove_prefix(rest.find("://") + 3);
    o.tls = true;
    o.port = 8883;
  } else if (rest.find("://") != std::string_view::npos) {
    return core::InvalidArgument(fmt::format("mqtt broker '{}': the scheme must be mqtt:// or mqtts://", url));
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {  // [IPv6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return core::InvalidArgument(fmt::format("mqtt broker '{}': '[' without ']'", url));
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return core::InvalidArgument(fmt::format("mqtt broker '{}': ':' expected after ']'", url));
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.find(':'); colon != std::string_view::npos && rest.rfind(':') == colon) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (!port.empty() || (host.size() < rest.size() && !rest.starts_with('['))) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return core::InvalidArgument(fmt::format("mqtt broker '{}': '{}' is not a port", url, port));
    }
    o.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) return core::InvalidArgument(fmt::format("mqtt broker '{}' names no host", url));
  o.host = host;
  return o;
}

}  // namespace ferry::stream::mqtt
