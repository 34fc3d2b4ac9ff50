#include "cli/load_generator.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <type_traits>

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <optional>

#include "cli/grpc_module.h"
#include "cli/load_recorder.h"
#include "protocol/v2_json.h"

namespace ferry::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Clock = LoadClock;

// One HTTP keep-alive connection sending the same request again and again, over TCP
// (Stream = beast::tcp_stream) or TLS (beast::ssl_stream<beast::tcp_stream>).
template <typename Stream>
class HttpSlot : public std::enable_shared_from_this<HttpSlot<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <typename... StreamArgs>
  HttpSlot(asio::io_context& context, const bhttp::request<bhttp::string_body>& request, Recorder& recorder,
           Pacer& pacer, StreamArgs&... stream_args)
      : stream_(context, stream_args...), timer_(context), request_(request), recorder_(recorder), pacer_(pacer) {}

  void Start(const asio::ip::tcp::resolver::results_type& endpoints, const std::string& host) {
    beast::get_lowest_layer(stream_).async_connect(endpoints, [self = this->shared_from_this(), host](beast::error_code ec, auto) {
      if (ec) return self->Fail(ec);
      beast::get_lowest_layer(self->stream_).socket().set_option(asio::ip::tcp::no_delay(true));
      if constexpr (kTls) {
        self->stream_.set_verify_callback(asio::ssl::host_name_verification(host));
        SSL_set_tlsext_host_name(self->stream_.native_handle(), host.c_str());
        self->stream_.async_handshake(asio::ssl::stream_base::client, [self](beast::error_code ec) {
          if (ec) return self->Fail(ec);
          self->Send();
        });
      } else {
        self->Send();
      }
    });
  }

 private:
  void Send() {
    if (!pacer_.active()) return Write(Clock::now());
    const auto due = pacer_.Take();
    if (due <= Clock::now()) return Write(due);
    timer_.expires_at(due);
    // Sent on time: the latency counts from now (a late timer is the client's own delay).
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->Write(Clock::now());
    });
  }

  // Sends the request; its latency counts from `due` (when it is late for want of a free slot,
  // the wait counts against the server).
  void Write(Clock::time_point due) {
    sent_ = due;
    bhttp::async_write(stream_, request_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->Fail(ec);
      self->parser_.emplace();
      self->parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
      bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                        [self](beast::error_code ec, std::size_t) { self->OnAnswer(ec); });
    });
  }

  void OnAnswer(beast::error_code ec) {
    if (ec) return Fail(ec);
    const int status = static_cast<int>(parser_->get().result_int());
    const bool ok = status == 200;
    const std::string error = ok ? "" : fmt::format("HTTP {}: {}", status, parser_->get().body());
    if (recorder_.Record(sent_, Clock::now(), ok, error)) Send();
  }

  void Fail(beast::error_code ec) { recorder_.Record(sent_, Clock::now(), false, ec.message()); }

  Stream stream_;
  asio::steady_timer timer_;
  const bhttp::request<bhttp::string_body>& request_;
  Recorder& recorder_;
  Pacer& pacer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  Clock::time_point sent_ = Clock::now();
};

core::Result<LoadResult> RunHttp(const LoadOptions& options, const core::InferenceRequest& request) {
  std::string body;
  bhttp::request<bhttp::string_body> message(bhttp::verb::post, "", 11);
  if (auto header = protocol::EncodeInferRequest(request, options.binary, options.binary, body)) {
    message.set("Inference-Header-Content-Length", std::to_string(*header));
  }
  std::string target = "/v2/models/" + request.model_name;
  if (request.model_version > 0) target += "/versions/" + std::to_string(request.model_version);
  message.target(target + "/infer");
  message.set(bhttp::field::host, options.host);
  message.set(bhttp::field::content_type, options.binary ? "application/octet-stream" : "application/json");
  message.body() = std::move(body);
  if (!options.token.empty()) message.set(bhttp::field::authorization, "Bearer " + options.token);
  message.keep_alive(true);
  message.prepare_payload();

  asio::io_context context(1);
  beast::error_code ec;
  auto endpoints = asio::ip::tcp::resolver(context).resolve(options.host, std::to_string(options.port), ec);
  if (ec) return core::Unavailable(fmt::format("cannot resolve {}: {}", options.host, ec.message()));
  const auto start = Clock::now() + options.warmup;
  Recorder recorder(start, start + options.duration);
  Pacer pacer{.t0 = Clock::now(), .interval = Interval(options.request_rate)};
  for (int i = 0; i < options.concurrency; ++i) {
    if (options.tls) {
      if (!options.tls_context) return core::InvalidArgument("an https:// URL needs a TLS context");
      std::make_shared<HttpSlot<beast::ssl_stream<beast::tcp_stream>>>(context, message, recorder, pacer,
                                                                        *options.tls_context)
          ->Start(endpoints, options.host);
    } else {
      std::make_shared<HttpSlot<beast::tcp_stream>>(context, message, recorder, pacer)->Start(endpoints, options.host);
    }
  }
  // Returns when every slot is done, or gives up on a stalled server 10 s after the window.
  context.run_until(start + options.duration + std::chrono::seconds(10));
  auto result = recorder.Finish(options.concurrency);
  result.request_rate = options.request_rate;
  return result;
}

}  // namespace

core::Result<LoadResult> RunLoad(const LoadOptions& options, const core::InferenceRequest& request) {
  if (options.concurrency < 1) return core::InvalidArgument("concurrency must be at least 1");
  if (!options.grpc) return RunHttp(options, request);
  FERRY_ASSIGN_OR_RETURN(const GrpcModule* grpc, LoadGrpcModule());
  return grpc->run_load(options, request);
}

}  // namespace ferry::cli
