#include "server/http/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <optional>
#include <thread>
#include <vector>

#include "server/http/http_compression.h"
#include "server/http/http_routes.h"
#include "protocol/v2_json.h"

namespace ferry::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// Bodies at least this large, with a Content-Length, are read in one operation (ReadLargeBody).
constexpr std::uint64_t kDirectBodyBytes = 64 * 1024;

// Shared by a server's sessions: connections open, requests being handled (from their header's
// arrival to their answer's sending: a body still uploading when a shutdown begins is in flight),
// and whether the server is draining.
struct Activity {
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> draining{false};
};

// A request's headers as routers read them (sticky keys, the override header). Beast looks
// names up case-insensitively. Lives as long as the request, which outlives the routing decision.
class RequestHeaders final : public routing::CallContext {
 public:
  explicit RequestHeaders(const bhttp::request<bhttp::string_body>& request) : request_(request) {}
  std::optional<std::string_view> Header(std::string_view name) const override {
    auto it = request_.find(beast::string_view(name.data(), name.size()));
    if (it == request_.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  }
  std::string_view Protocol() const override { return "http"; }

 private:
  const bhttp::request<bhttp::string_body>& request_;
};

// One connection. Lives on one I/O thread: every handler of a session runs on its socket's
// io_context, which one thread runs, so its members need no lock.
// kTls: the connection speaks TLS (a handshake first, then HTTP inside it).
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<tcp::socket>, tcp::socket>;

  template <typename... TlsContext>
  Session(tcp::socket socket, runtime::Server& server, const HttpServer::Options& options, Activity& activity,
          TlsContext&... tls)
      : socket_(std::move(socket), tls...),
        server_(server),
        options_(options),
        max_request_bytes_(options.max_request_bytes),
        routes_(options.metrics_only ? RouteSet::kMetricsOnly : options.dashboard ? RouteSet::kAll : RouteSet::kApi),
        activity_(activity),
        timer_(socket_.get_executor()) {
    activity_.connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() {
    Uncount();
    activity_.connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    if constexpr (kTls) {
      Deadline(options_.idle_timeout);
      socket_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        self->timer_.cancel();
        if (ec) return self->Close();  // not TLS, or a certificate refused
        self->Read();
      });
    } else {
      Read();
    }
  }

 private:
  // Reads the header first, so that a client waiting on "Expect: 100-continue" gets its go-ahead
  // instead of stalling (curl waits a second before sending a body over 1 MB without it).
  void Read() {
    parser_.emplace();
    parser_->body_limit(max_request_bytes_);
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    Deadline(options_.idle_timeout);  // an idle or slowly trickling client is cut off
    bhttp::async_read_header(socket_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->OnHeader(ec);
    });
  }

  // Closes the connection unless the read in progress completes within `timeout`.
  void Deadline(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->Close();  // not cancelled: the time is up
    });
  }

  void OnHeader(beast::error_code ec) {
    timer_.cancel();
    if (ec) return OnRead(ec);
    // The request is in flight from here: a shutdown that begins while its body uploads still
    // answers it. One whose header comes during the shutdown is turned away (Dispatch).
    activity_.in_flight.fetch_add(1, std::memory_order_relaxed);
    counted_ = true;
    admitted_ = !activity_.draining.load(std::memory_order_relaxed);
    if (!beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) return ReadBody();
    continue_.emplace(bhttp::status::continue_, parser_->get().version());
    bhttp::async_write(socket_, *continue_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->Close();
      self->ReadBody();
    });
  }

  void ReadBody() {
    Deadline(options_.body_timeout);
    const auto length = parser_->content_length();
    if (length && *length >= kDirectBodyBytes) return ReadLargeBody(static_cast<std::size_t>(*length));
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  // A large body of known length is read straight into the request's body in one operation: the
  // parser would take it in 64 KiB steps, each a trip through the event loop (a 600 KB tensor
  // took 1.3 ms that way, against 0.2 ms over gRPC).
  void ReadLargeBody(std::size_t length) {
    std::string& body = parser_->get().body();
    const std::size_t have = std::min(buffer_.size(), length);
    body.resize_and_overwrite(length, [&](char* data, std::size_t n) {
      asio::buffer_copy(asio::buffer(data, have), buffer_.data());
      return n;
    });
    buffer_.consume(have);
    asio::async_read(socket_, asio::buffer(body.data() + have, length - have),
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->timer_.cancel();
                       if (ec) return self->Close();
                       self->Dispatch();
                     });
  }

  void OnRead(beast::error_code ec) {
    timer_.cancel();
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) return Close();
    if (ec == bhttp::error::header_limit) {
      return Fail(431, fmt::format("request header exceeds the limit of {} bytes (--max-header-bytes)",
                                   options_.max_header_bytes));
    }
    if (ec == bhttp::error::body_limit) {
      return Fail(413, fmt::format("request body exceeds the limit of {} bytes (--max-request-bytes)",
                                   max_request_bytes_));
    }
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {  // a parse error
      return Fail(400, fmt::format("malformed HTTP request: {}", ec.message()));
    }
    if (ec) return Close();
    Dispatch();
  }

  // Hands a complete request to the routes.
  void Dispatch() {
    auto& request = parser_->get();
    keep_alive_ = request.keep_alive();
    http_version_ = request.version();
    Method method = Method::kOther;
    if (request.method() == bhttp::verb::get) method = Method::kGet;
    if (request.method() == bhttp::verb::post) method = Method::kPost;
    if (request.method() == bhttp::verb::put) method = Method::kPut;
    const auto target = request.target();
    response_coding_ = Coding::kIdentity;
    if (auto it = request.find(bhttp::field::accept_encoding); it != request.end()) {
      response_coding_ = ResponseCoding(std::string_view(it->value().data(), it->value().size()));
    }
    HttpRequest view{.method = method, .target = std::string_view(target.data(), target.size()),
                     .body = request.body(), .inference_header_length = std::nullopt, .limits = &options_.limits};
    view.auth = options_.auth;
    if (auto it = request.find(bhttp::field::authorization); it != request.end()) {
      view.authorization = std::string_view(it->value().data(), it->value().size());
    }
    if (auto it = request.find("Inference-Header-Content-Length"); it != request.end()) {
      view.inference_header_length = std::string_view(it->value().data(), it->value().size());
    }
    auto reply = [self = this->shared_from_this()](HttpReply reply) mutable {
      auto executor = self->socket_.get_executor();
      asio::dispatch(executor, [self = std::move(self), reply = std::move(reply)]() mutable {
        self->Write(std::move(reply));
      });
    };
    if (!admitted_ && !view.target.starts_with("/v2/health/") && !view.target.starts_with("/metrics")) {
      // Shutting down: probes still get answers (ready: 503), new work goes elsewhere.
      keep_alive_ = false;
      return Write({503, protocol::EncodeError("the server is shutting down; send the request to another instance"),
                    "", {}, "application/json"});
    }
    if (auto it = request.find(bhttp::field::content_encoding); it != request.end()) {
      const std::string_view value(it->value().data(), it->value().size());
      const auto coding = RequestCoding(value);
      if (!coding) {
        return Write({415, protocol::EncodeError(fmt::format("Content-Encoding '{}' is not supported (gzip, deflate, "
                                                             "identity)", value)), "", {}, "application/json"});
      }
      if (*coding != Coding::kIdentity) {
        auto inflated = Inflate(view.body, *coding, max_request_bytes_);
        if (!inflated) {
          if (inflated.error().status == 413) keep_alive_ = false;
          return Write({inflated.error().status, protocol::EncodeError(inflated.error().message), "", {},
                        "application/json"});
        }
        inflated_body_ = std::move(*inflated);
        view.body = inflated_body_;
      }
    }
    const RequestHeaders headers(request);
    view.context = &headers;
    try {
      HandleRequest(server_, view, std::move(reply), routes_);
    } catch (const std::exception& e) {  // such as bad_alloc: fail this request, keep serving
      keep_alive_ = false;
      Write({500, protocol::EncodeError(fmt::format("internal error: {}", e.what())), "", {}, "application/json"});
    }
  }

  // Answers a request that cannot be read to its end, then closes the connection.
  void Fail(int status, std::string_view message) {
    keep_alive_ = false;
    response_coding_ = Coding::kIdentity;
    http_version_ = 11;
    Write({status, protocol::EncodeError(message), "", {}, "application/json"});
  }

  void Write(HttpReply reply) {
    response_.emplace();
    response_->version(http_version_);
    response_->result(static_cast<unsigned>(reply.status));
    if (reply.inference_header_length) {
      response_->set(bhttp::field::content_type, "application/octet-stream");
      response_->set("Inference-Header-Content-Length", std::to_string(*reply.inference_header_length));
    } else {
      response_->set(bhttp::field::content_type, beast::string_view(reply.content_type.data(), reply.content_type.size()));
    }
    if (!reply.allow.empty()) response_->set(bhttp::field::allow, reply.allow);
    if (reply.ask_for_token) response_->set(bhttp::field::www_authenticate, "Bearer");
    for (const auto& [name, value] : reply.headers) {
      response_->set(beast::string_view(name.data(), name.size()), value);
    }
    if (activity_.draining.load(std::memory_order_relaxed)) keep_alive_ = false;  // shutting down: last answer
    response_->keep_alive(keep_alive_);
    if (response_coding_ != Coding::kIdentity) {
      // The binary extension's Inference-Header-Content-Length keeps counting the JSON as sent
      // before compression, as Triton's clients read it.
      response_->set(bhttp::field::vary, "Accept-Encoding");
      if (reply.body.size() >= kMinCompressedBody) {
        reply.body = Deflate(reply.body, response_coding_);
        const std::string_view coding = CodingName(response_coding_);
        response_->set(bhttp::field::content_encoding, beast::string_view(coding.data(), coding.size()));
      }
    }
    response_->body() = std::move(reply.body);
    response_->prepare_payload();
    bhttp::async_write(socket_, *response_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->Uncount();
      if (ec) return self->Close();
      if (!self->keep_alive_) return self->Drain();
      self->Read();
    });
  }

  // Half-closes, then discards what the client still sends (such as the rest of an over-limit
  // body) until it closes, so that the client reads our answer instead of a connection reset.
  void Drain() {
    beast::error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_send, ignored);
    drain_timer_.emplace(socket_.get_executor());
    drain_timer_->expires_after(std::chrono::seconds(2));
    drain_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->Close();
    });
    DrainSome();
  }

  void DrainSome() {
    socket_.async_read_some(asio::buffer(scratch_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->Close();
      self->DrainSome();
    });
  }

  // The request in hand is no longer in flight (answered, or its connection closed).
  void Uncount() {
    if (!counted_) return;
    counted_ = false;
    activity_.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }

  void Close() {
    Uncount();
    beast::error_code ignored;
    timer_.cancel();
    if (drain_timer_) drain_timer_->cancel();
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
  }

  // The TCP socket under the stream.
  tcp::socket& Socket() {
    if constexpr (kTls) {
      return socket_.next_layer();
    } else {
      return socket_;
    }
  }

  Stream socket_;
  runtime::Server& server_;
  const HttpServer::Options& options_;
  const std::size_t max_request_bytes_;
  const RouteSet routes_;
  Activity& activity_;
  bool counted_ = false;  // this request is counted in activity_.in_flight until its answer is written
  bool admitted_ = true;  // its header came before a shutdown began: it is answered
  asio::steady_timer timer_;  // the deadline of the read in progress
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<asio::steady_timer> drain_timer_;
  std::array<char, 16384> scratch_;
  bool keep_alive_ = true;
  Coding response_coding_ = Coding::kIdentity;  // what the request's Accept-Encoding asks for
  std::string inflated_body_;                   // a compressed request's body, while it is served
  unsigned http_version_ = 11;
};

}  // namespace

struct HttpServer::Impl {
  Options options;
  runtime::Server& server;
  Activity activity;  // before the contexts: sessions (destroyed with the contexts) refer to it
  std::optional<asio::ssl::context> tls;  // set with --tls-cert; sessions refer to it
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::size_t next_context = 0;  // used only on the acceptor's thread
  bool stopped = false;

  Impl(const Options& o, runtime::Server& s) : options(o), server(s) {}

  // Answers a connection over --max-connections with 503 and closes it.
  void Refuse(tcp::socket socket) {
    static const std::string kAnswer = [] {
      const std::string body = R"({"error":"too many connections (--max-connections); retry later"})";
      return fmt::format("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                         "Connection: close\r\n\r\n{}", body.size(), body);
    }();
    auto held = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*held, asio::buffer(kAnswer), [held](beast::error_code, std::size_t) {
      beast::error_code ignored;
      held->shutdown(tcp::socket::shutdown_both, ignored);
      held->close(ignored);
    });
  }

  void Accept() {
    asio::io_context& target = *contexts[next_context++ % contexts.size()];
    acceptor->async_accept(target, [this, &target](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (!ec && activity.connections.load(std::memory_order_relaxed) >= options.max_connections) {
        Refuse(std::move(socket));
      } else if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (tls) {
          auto session = std::make_shared<Session<true>>(std::move(socket), server, options, activity, *tls);
          asio::post(target, [session] { session->Start(); });
        } else {
          auto session = std::make_shared<Session<false>>(std::move(socket), server, options, activity);
          asio::post(target, [session] { session->Start(); });
        }
      }
      Accept();
    });
  }
};

core::Result<std::unique_ptr<HttpServer>> HttpServer::Create(const Options& options, runtime::Server& server) {
  auto impl = std::make_unique<Impl>(options, server);
  if (!options.tls_cert.empty()) {
    impl->tls.emplace(asio::ssl::context::tls_server);
    beast::error_code ec;
    auto& tls = *impl->tls;
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls.use_certificate_chain_file(options.tls_cert, ec);
    if (ec) return core::InvalidArgument(fmt::format("--tls-cert {}: {}", options.tls_cert, ec.message()));
    tls.use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
    if (ec) return core::InvalidArgument(fmt::format("--tls-key {}: {}", options.tls_key, ec.message()));
    if (!options.tls_client_ca.empty()) {
      tls.load_verify_file(options.tls_client_ca, ec);
      if (ec) return core::InvalidArgument(fmt::format("--tls-client-ca {}: {}", options.tls_client_ca, ec.message()));
      tls.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
  }
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    impl->contexts.push_back(std::make_unique<asio::io_context>(1));
    impl->guards.push_back(asio::make_work_guard(*impl->contexts.back()));
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) return core::InvalidArgument(fmt::format("--http-host '{}' is not an IP address", options.host));
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor.emplace(*impl->contexts[0]);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Unavailable(fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()));
  }
  impl->Accept();
  for (auto& context : impl->contexts) {
    impl->threads.emplace_back([ctx = context.get()] { ctx->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

std::uint16_t HttpServer::port() const { return impl_->acceptor->local_endpoint().port(); }

int HttpServer::threads() const { return static_cast<int>(impl_->contexts.size()); }

int HttpServer::Shutdown(std::chrono::milliseconds timeout) {
  if (impl_->stopped) return 0;
  impl_->activity.draining = true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int unanswered = 0;
  while ((unanswered = impl_->activity.in_flight.load()) > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Stop();
  return unanswered;
}

void HttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(*impl_->contexts[0], [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor->close(ignored);
  });
  for (auto& guard : impl_->guards) guard.reset();
  for (auto& context : impl_->contexts) context->stop();
  for (auto& thread : impl_->threads) thread.join();
}

}  // namespace ferry::http
