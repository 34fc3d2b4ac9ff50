#include "cli/client_security.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace ferry::cli {
namespace {

core::Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::InvalidArgument(fmt::format("cannot read {} '{}'", what, path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

void AddClientSecurityOptions(CLI::App& command, ClientSecurity& security) {
  command.add_option("--token", security.token, "Bearer token for a server started with --auth-token-file");
  command.add_option("--token-file", security.token_file, "File whose first line is the bearer token")
      ->check(CLI::ExistingFile);
  command.add_option("--ca", security.ca, "PEM CAs to trust for an https:// URL (default: the system's)")
      ->check(CLI::ExistingFile);
  auto* cert = command.add_option("--cert", security.cert, "PEM client certificate (mutual TLS)")
                   ->check(CLI::ExistingFile);
  auto* key = command.add_option("--key", security.key, "PEM private key of --cert")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
}

core::Result<ServerAddress> ParseServerAddress(std::string_view url, std::uint16_t default_port) {
  ServerAddress address{.host = {}, .port = default_port, .tls = false};
  if (url.starts_with("https://")) {
    address.tls = true;
    url.remove_prefix(8);
  }
  for (std::string_view scheme : {"http://", "grpc://"}) {
    if (url.starts_with(scheme)) url.remove_prefix(scheme.size());
  }
  if (auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  std::string_view host = url;
  if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    const auto text = url.substr(colon + 1);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), address.port);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return core::InvalidArgument(fmt::format("'{}' is not host:port", url));
    }
  }
  if (host.empty()) return core::InvalidArgument(fmt::format("'{}' names no host", url));
  address.host = std::string(host);
  return address;
}

core::Result<std::string> BearerToken(const ClientSecurity& security) {
  if (!security.token.empty()) return security.token;
  if (security.token_file.empty()) return std::string();
  FERRY_ASSIGN_OR_RETURN(auto text, ReadFile(security.token_file, "--token-file"));
  const auto end = text.find_first_of("\r\n");
  text = text.substr(0, end);
  if (text.empty()) return core::InvalidArgument(fmt::format("--token-file '{}' is empty", security.token_file));
  return text;
}

core::Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(const ClientSecurity& security) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_verify_mode(ssl::verify_peer, ec);
  if (security.ca.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->load_verify_file(security.ca, ec);
  }
  if (ec) return core::InvalidArgument(fmt::format("--ca '{}': {}", security.ca, ec.message()));
  if (!security.cert.empty()) {
    context->use_certificate_chain_file(security.cert, ec);
    if (ec) return core::InvalidArgument(fmt::format("--cert '{}': {}", security.cert, ec.message()));
    context->use_private_key_file(security.key, ssl::context::pem, ec);
    if (ec) return core::InvalidArgument(fmt::format("--key '{}': {}", security.key, ec.message()));
  }
  return context;
}

}  // namespace ferry::cli
