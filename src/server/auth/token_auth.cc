#include "server/auth/token_auth.h"

#include <fmt/format.h>


#include "core/file.h"

namespace ferry::auth {
namespace {

// Compares in time that depends only on the lengths, not on where the strings differ.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kInfer: return "infer";
    case Scope::kRead: return "read";
    case Scope::kAdmin: return "admin";
    case Scope::kNone: break;
  }
  return "none";
}

core::Result<std::unique_ptr<TokenAuth>> TokenAuth::Parse(std::string_view text, std::string_view source) {
  auto auth = std::make_unique<TokenAuth>();
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    const auto space = line.find_first_of(" \t");
    if (space == std::string_view::npos) {
      return core::InvalidArgument(fmt::format("{}:{}: expected '<token> <scope>[,<scope>...]'", source, line_number));
    }
    Token token{.secret = std::string(line.substr(0, space)), .scopes = 0};
    std::string_view scopes = Trim(line.substr(space));
    while (!scopes.empty()) {
      const auto comma = scopes.find(',');
      const std::string_view scope = Trim(scopes.substr(0, comma));
      if (scope == "infer") {
        token.scopes |= static_cast<std::uint8_t>(Scope::kInfer);
      } else if (scope == "read") {
        token.scopes |= static_cast<std::uint8_t>(Scope::kRead);
      } else if (scope == "admin") {
        token.scopes |= static_cast<std::uint8_t>(Scope::kAdmin);
      } else {
        return core::InvalidArgument(fmt::format("{}:{}: unknown scope '{}' (infer, read or admin)", source,
                                                 line_number, scope));
      }
      scopes.remove_prefix(comma == std::string_view::npos ? scopes.size() : comma + 1);
    }
    if (token.secret.size() < 16) {
      return core::InvalidArgument(fmt::format("{}:{}: a token must have at least 16 characters", source, line_number));
    }
    auth->tokens_.push_back(std::move(token));
  }
  if (auth->tokens_.empty()) return core::InvalidArgument(fmt::format("{}: no tokens", source));
  return auth;
}

core::Result<std::unique_ptr<TokenAuth>> TokenAuth::Load(const std::filesystem::path& file) {
  FERRY_ASSIGN_OR_RETURN(const auto text, core::ReadWholeFile(file, "--auth-token-file"));
  return Parse(text, file.string());
}

core::Result<void> TokenAuth::Check(std::string_view authorization, Scope needed) const {
  if (needed == Scope::kNone) return {};
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer)) {
    return core::MakeError(core::ErrorCode::kUnauthenticated,
                           "this route needs a token: send 'Authorization: Bearer <token>'");
  }
  const std::string_view presented = Trim(authorization.substr(kBearer.size()));
  std::uint8_t scopes = 0;
  bool known = false;
  for (const Token& token : tokens_) {  // every token is compared, so timing tells nothing
    const bool same = SameSecret(presented, token.secret);
    known |= same;
    scopes |= same ? token.scopes : 0;
  }
  if (!known) return core::MakeError(core::ErrorCode::kUnauthenticated, "the token is not valid");
  if (!(scopes & static_cast<std::uint8_t>(needed))) {
    return core::MakeError(core::ErrorCode::kPermissionDenied,
                           fmt::format("the token lacks the '{}' scope this route needs", ScopeName(needed)));
  }
  return {};
}

}  // namespace ferry::auth
