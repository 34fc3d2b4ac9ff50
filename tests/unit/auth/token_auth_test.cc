#include "server/auth/token_auth.h"

#include <gtest/gtest.h>

namespace ferry::auth {
namespace {

constexpr char kFile[] =
    "# tokens\n"
    "infer-token-0123456789 infer\n"
    "read-token-0123456789 read   # a comment\n"
    "admin-token-0123456789 admin,read, infer\n";

TEST(TokenAuth, ChecksTokensAndScopes) {
  auto auth = TokenAuth::Parse(kFile, "tokens");
  ASSERT_TRUE(auth.has_value()) << auth.error().message;
  EXPECT_EQ((*auth)->size(), 3u);
  EXPECT_TRUE((*auth)->Check("", Scope::kNone).has_value());
  EXPECT_TRUE((*auth)->Check("Bearer infer-token-0123456789", Scope::kInfer).has_value());
  EXPECT_TRUE((*auth)->Check("Bearer admin-token-0123456789", Scope::kInfer).has_value());
  EXPECT_TRUE((*auth)->Check("Bearer admin-token-0123456789", Scope::kAdmin).has_value());
  auto missing = (*auth)->Check("", Scope::kRead);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, core::ErrorCode::kUnauthenticated);
  auto bad = (*auth)->Check("Bearer infer-token-0123456788", Scope::kInfer);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_EQ(bad.error().message.find("0123456788"), std::string::npos);  // tokens are never echoed
  auto prefix = (*auth)->Check("Bearer infer-token", Scope::kInfer);
  EXPECT_FALSE(prefix.has_value());
  auto scope = (*auth)->Check("Bearer read-token-0123456789", Scope::kInfer);
  ASSERT_FALSE(scope.has_value());
  EXPECT_EQ(scope.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(scope.error().message.find("'infer' scope"), std::string::npos);
}

TEST(TokenAuth, RejectsMalformedFiles) {
  EXPECT_FALSE(TokenAuth::Parse("", "t").has_value());
  EXPECT_FALSE(TokenAuth::Parse("lonely-token-0123456789\n", "t").has_value());
  EXPECT_FALSE(TokenAuth::Parse("short infer\n", "t").has_value());
  auto unknown = TokenAuth::Parse("some-token-0123456789 write\n", "t");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("t:1: unknown scope 'write'"), std::string::npos);
}

}  // namespace
}  // namespace ferry::auth
