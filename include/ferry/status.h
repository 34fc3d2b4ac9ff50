// ferry::Status: the outcome of a call to the embedding API (ferry/ferry.h).
//
// A value type: copy it freely, from any thread. `ok()` or a code with a message for a person
// that names what was wrong (the model, the input, the field) -- the same codes and messages the
// HTTP and gRPC frontends answer with.
#pragma once

#include <string>
#include <utility>

// What libferry.so exports (it is built with -fvisibility=hidden).
#ifndef FERRY_EXPORT
#define FERRY_EXPORT __attribute__((visibility("default")))
#endif

namespace ferry {

class FERRY_EXPORT Status {
 public:
  // The codes of ferry's errors, each with its HTTP status (in parentheses).
  enum class Code {
    kOk = 0,             // (200)
    kInvalidArgument,    // (400) the request is malformed or does not fit the model
    kUnauthenticated,    // (401)
    kPermissionDenied,   // (403)
    kNotFound,           // (404) an unknown model or version
    kRejected,           // (422) a pipeline step rejected the record
    kPayloadTooLarge,    // (413)
    kResourceExhausted,  // (429) a queue is full
    kInternal,           // (500) a fault of ferry or of a backend
    kUnimplemented,      // (501)
    kUnavailable,        // (503) the model cannot take the request now (loading, failed to load)
    kDeadlineExceeded,   // (504)
  };

  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: model 'x' is not in the repository", or "OK".
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace ferry
