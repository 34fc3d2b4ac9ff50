// Error and Result<T>: how every fallible ferry function reports failure.
//
// An Error is a code plus a message for a person: the message names what was wrong (model, input,
// field, line) and, when known, how to fix it. Each code maps to exactly one HTTP status and one
// gRPC status code, so frontends translate errors without judging them. Exceptions thrown by
// libraries are caught at the boundary that calls them and turned into an Error there.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace ferry::core {

enum class ErrorCode {
  kInvalidArgument,    // 400, INVALID_ARGUMENT: the request is malformed or does not fit the model
  kUnauthenticated,    // 401, UNAUTHENTICATED
  kPermissionDenied,   // 403, PERMISSION_DENIED
  kNotFound,           // 404, NOT_FOUND: unknown model, version or route
  kRejected,           // 422, INVALID_ARGUMENT: well-formed, but a pipeline step rejected the record
  kPayloadTooLarge,    // 413, RESOURCE_EXHAUSTED: a request over a configured size limit
  kResourceExhausted,  // 429, RESOURCE_EXHAUSTED: a quota or rate limit
  kInternal,           // 500, INTERNAL: a fault of ferry or of a backend, not of the request
  kUnimplemented,      // 501, UNIMPLEMENTED
  kUnavailable,        // 503, UNAVAILABLE: the model or server cannot take the request now
  kDeadlineExceeded,   // 504, DEADLINE_EXCEEDED
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// HTTP status for an error code (see ErrorCode).
int HttpStatus(ErrorCode code);
std::string_view ErrorCodeName(ErrorCode code);

// Result<T> is std::expected<T, Error>, marked [[nodiscard]] so that no error is dropped silently.
template <typename T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result(std::expected<T, Error>&& other) : std::expected<T, Error>(std::move(other)) {}
};

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}
inline std::unexpected<Error> InvalidArgument(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}
inline std::unexpected<Error> Rejected(std::string message) {
  return MakeError(ErrorCode::kRejected, std::move(message));
}
inline std::unexpected<Error> NotFound(std::string message) {
  return MakeError(ErrorCode::kNotFound, std::move(message));
}
inline std::unexpected<Error> Unavailable(std::string message) {
  return MakeError(ErrorCode::kUnavailable, std::move(message));
}
inline std::unexpected<Error> Internal(std::string message) {
  return MakeError(ErrorCode::kInternal, std::move(message));
}
inline std::unexpected<Error> Unimplemented(std::string message) {
  return MakeError(ErrorCode::kUnimplemented, std::move(message));
}

}  // namespace ferry::core

// The one pair of helpers that propagate errors.
//   FERRY_RETURN_IF_ERROR(expr);          -- returns expr's error from the enclosing function
//   FERRY_ASSIGN_OR_RETURN(auto x, expr); -- binds expr's value to x, or returns its error
#define FERRY_RETURN_IF_ERROR(expr)                                      \
  do {                                                                   \
    if (auto ferry_result_ = (expr); !ferry_result_)                     \
      return std::unexpected(std::move(ferry_result_).error());          \
  } while (false)

#define FERRY_CONCAT_INNER_(a, b) a##b
#define FERRY_CONCAT_(a, b) FERRY_CONCAT_INNER_(a, b)
#define FERRY_ASSIGN_OR_RETURN(lhs, expr) \
  FERRY_ASSIGN_OR_RETURN_IMPL_(FERRY_CONCAT_(ferry_result_, __LINE__), lhs, expr)
#define FERRY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)           \
  auto tmp = (expr);                                          \
  if (!tmp) return std::unexpected(std::move(tmp).error());   \
  lhs = std::move(tmp).value()
