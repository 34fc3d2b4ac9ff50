// TokenAuth: bearer tokens with scopes, for the HTTP and gRPC frontends (--auth-token-file).
//
// The file holds one token a line: `<token> <scope>[,<scope>...]`; `#` starts a comment. Scopes:
//   infer  run inference;
//   read   metadata, readiness of models, statistics, configuration, metrics, the repository index;
//   admin  load and unload models (and any later control route).
// Health routes stay open for orchestrator probes. A request without a valid token is
// UNAUTHENTICATED (401); a valid token without the scope needed is PERMISSION_DENIED (403).
// Tokens are compared in constant time and never logged. Immutable after Load; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ferry::auth {

enum class Scope : std::uint8_t { kNone = 0, kInfer = 1, kRead = 2, kAdmin = 4 };

class TokenAuth {
 public:
  static core::Result<std::unique_ptr<TokenAuth>> Load(const std::filesystem::path& file);
  static core::Result<std::unique_ptr<TokenAuth>> Parse(std::string_view text, std::string_view source);

  // Checks an Authorization value ("Bearer <token>") for `needed`; kNone needs nothing.
  core::Result<void> Check(std::string_view authorization, Scope needed) const;

  std::size_t size() const { return tokens_.size(); }

 private:
  struct Token {
    std::string secret;
    std::uint8_t scopes = 0;
  };
  std::vector<Token> tokens_;
};

std::string_view ScopeName(Scope scope);

}  // namespace ferry::auth
