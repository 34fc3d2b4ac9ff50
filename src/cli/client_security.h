// How the ferry command's clients (`ferry infer`, `ferry bench`) reach a secured server, with
// the same choices the server has (docs/security.md): an https:// URL for TLS (HTTP and gRPC),
// `--ca` to trust a private CA, `--cert`/`--key` for mutual TLS, and `--token`/`--token-file` for
// a bearer token (the `Authorization` header over HTTP, `authorization` metadata over gRPC).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace CLI {
class App;
}

namespace ferry::cli {

struct ClientSecurity {
  std::string token;       // --token
  std::string token_file;  // --token-file: its first line
  std::string ca;          // --ca: PEM CAs to trust (default: the system's)
  std::string cert, key;   // --cert, --key: a client certificate (mutual TLS)
};

// Adds --token, --token-file, --ca, --cert and --key to `command`.
void AddClientSecurityOptions(CLI::App& command, ClientSecurity& security);

// Where a client goes: "host:port", "http://host:port" or "https://host:port" (TLS).
struct ServerAddress {
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
};
core::Result<ServerAddress> ParseServerAddress(std::string_view url, std::uint16_t default_port);

// The bearer token (from --token or the first line of --token-file), or empty.
core::Result<std::string> BearerToken(const ClientSecurity& security);

// An OpenSSL client context that verifies the server (by --ca, or the system's CAs) and presents
// --cert/--key when given.
core::Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(const ClientSecurity& security);

}  // namespace ferry::cli
