#include "observe/otlp_http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>

#include <fmt/format.h>

namespace ferry::observe {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

core::Result<OtlpEndpoint> ParseOtlpEndpoint(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return core::InvalidArgument(fmt::format("--trace-endpoint must be an http:// URL (OTLP/HTTP), got '{}'", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  OtlpEndpoint endpoint;
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    endpoint.target = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  const auto colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    const auto digits = rest.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
      return core::InvalidArgument(fmt::format("--trace-endpoint '{}': '{}' is not a port", url, digits));
    }
    endpoint.port = static_cast<std::uint16_t>(port);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return core::InvalidArgument(fmt::format("--trace-endpoint '{}' names no host", url));
  endpoint.host = std::string(rest);
  return endpoint;
}

core::Result<void> PostOtlp(const OtlpEndpoint& endpoint, std::string_view json, std::chrono::milliseconds timeout) {
  asio::io_context context;
  beast::tcp_stream stream(context);
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(context);
  const auto where = fmt::format("{}:{}{}", endpoint.host, endpoint.port, endpoint.target);
  auto endpoints = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) return core::Unavailable(fmt::format("OTLP collector {}: {}", where, ec.message()));
  stream.expires_after(timeout);
  stream.connect(endpoints, ec);
  if (ec) return core::Unavailable(fmt::format("OTLP collector {}: {}", where, ec.message()));
  http::request<http::string_body> request(http::verb::post, endpoint.target, 11);
  request.set(http::field::host, endpoint.host);
  request.set(http::field::content_type, "application/json");
  request.body() = std::string(json);
  request.prepare_payload();
  http::write(stream, request, ec);
  if (ec) return core::Unavailable(fmt::format("OTLP collector {}: {}", where, ec.message()));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response, ec);
  if (ec) return core::Unavailable(fmt::format("OTLP collector {}: {}", where, ec.message()));
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  if (response.result_int() / 100 != 2) {
    return core::Unavailable(fmt::format("OTLP collector {} answered {}: {}", where, response.result_int(),
                                         response.body().substr(0, 200)));
  }
  return {};
}

}  // namespace ferry::observe
