#include "cli/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace ferry::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

core::Result<std::pair<std::string, std::uint16_t>> ParseHostPort(std::string_view url, std::uint16_t default_port) {
  for (std::string_view scheme : {"http://", "grpc://"}) {
    if (url.starts_with(scheme)) url.remove_prefix(scheme.size());
  }
  if (auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  std::uint16_t port = default_port;
  std::string_view host = url;
  if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    const auto text = url.substr(colon + 1);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return core::InvalidArgument(fmt::format("'{}' is not host:port", url));
    }
  }
  if (host.empty()) return core::InvalidArgument(fmt::format("'{}' names no host", url));
  return std::pair{std::string(host), port};
}

struct HttpClient::Impl {
  asio::io_context context;
  beast::tcp_stream stream{context};
  beast::flat_buffer buffer;
  std::string host;
};

core::Result<std::unique_ptr<HttpClient>> HttpClient::Connect(const std::string& host, std::uint16_t port) {
  auto impl = std::make_unique<Impl>();
  impl->host = host;
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(impl->context);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (!ec) impl->stream.connect(endpoints, ec);
  if (ec) return core::Unavailable(fmt::format("cannot connect to {}:{}: {}", host, port, ec.message()));
  impl->stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

core::Result<HttpAnswer> HttpClient::Send(bool post, std::string_view target, std::string_view body,
                                          const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> request(post ? bhttp::verb::post : bhttp::verb::get,
                                             beast::string_view(target.data(), target.size()), 11);
  request.set(bhttp::field::host, impl_->host);
  request.set(bhttp::field::content_type, "application/json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::string(body);
  request.prepare_payload();
  beast::error_code ec;
  bhttp::write(impl_->stream, request, ec);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) bhttp::read(impl_->stream, impl_->buffer, parser, ec);
  if (ec) return core::Unavailable(fmt::format("HTTP exchange failed: {}", ec.message()));
  auto& response = parser.get();
  HttpAnswer answer{.status = static_cast<int>(response.result_int()), .headers = {}, .body = std::move(response.body())};
  for (const auto& field : response) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    answer.headers[name] = std::string(field.value());
  }
  return answer;
}

}  // namespace ferry::cli
