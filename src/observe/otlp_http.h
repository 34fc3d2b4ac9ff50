// OTLP/HTTP with JSON bodies (https://opentelemetry.io/docs/specs/otlp/#otlphttp): where spans go
// with `ferry serve --trace-endpoint http://collector:4318/v1/traces`. One POST a batch on a new
// connection, with a time limit; plain HTTP only (a collector beside ferry; TLS is the collector's
// business). Stateless; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ferry::observe {

struct OtlpEndpoint {
  std::string host;
  std::uint16_t port = 4318;
  std::string target = "/v1/traces";
};

// "http://host[:port][/path]" (no path: /v1/traces); InvalidArgument naming what is wrong.
core::Result<OtlpEndpoint> ParseOtlpEndpoint(std::string_view url);

// POSTs `json` (an ExportTraceServiceRequest); Unavailable when the collector cannot be reached
// or does not answer 2xx within `timeout`.
core::Result<void> PostOtlp(const OtlpEndpoint& endpoint, std::string_view json, std::chrono::milliseconds timeout);

}  // namespace ferry::observe
