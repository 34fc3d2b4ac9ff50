#include "cli/http_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace ferry::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct HttpClient::Impl {
  asio::io_context context;
  std::shared_ptr<asio::ssl::context> tls_context;  // outlives `tls`
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::string host;

  beast::tcp_stream& Tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  template <typename Fn>
  void WithStream(Fn&& fn) {
    if (tls) {
      fn(*tls);
    } else {
      fn(*plain);
    }
  }
};

core::Result<std::unique_ptr<HttpClient>> HttpClient::Connect(const ServerAddress& address,
                                                              std::shared_ptr<asio::ssl::context> tls) {
  auto impl = std::make_unique<Impl>();
  impl->host = address.host;
  if (address.tls) {
    if (!tls) return core::InvalidArgument("an https:// URL needs a TLS context");
    impl->tls_context = std::move(tls);
    impl->tls.emplace(impl->context, *impl->tls_context);
  } else {
    impl->plain.emplace(impl->context);
  }
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(impl->context);
  auto endpoints = resolver.resolve(address.host, std::to_string(address.port), ec);
  if (!ec) impl->Tcp().connect(endpoints, ec);
  if (ec) return core::Unavailable(fmt::format("cannot connect to {}:{}: {}", address.host, address.port, ec.message()));
  impl->Tcp().socket().set_option(asio::ip::tcp::no_delay(true), ec);
  if (impl->tls) {
    // The name to verify the certificate against (and SNI); an IP address is checked as one.
    impl->tls->set_verify_callback(asio::ssl::host_name_verification(address.host), ec);
    SSL_set_tlsext_host_name(impl->tls->native_handle(), address.host.c_str());
    impl->tls->handshake(asio::ssl::stream_base::client, ec);
    if (ec) return core::Unavailable(fmt::format("TLS with {}:{} failed: {}", address.host, address.port, ec.message()));
  }
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
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  impl_->WithStream([&](auto& stream) {
    bhttp::write(stream, request, ec);
    if (!ec) bhttp::read(stream, impl_->buffer, parser, ec);
  });
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
