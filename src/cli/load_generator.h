// Closed-loop load generation for `ferry bench`: `concurrency` requests in flight at all times,
// each answered before its slot sends the next, for a fixed time, over HTTP (JSON or binary
// body prepared once) or gRPC (one prepared ModelInferRequest). One thread drives all slots with
// asynchronous I/O, so the generator takes little of the machine it measures. With a request
// rate the loop is open: request k is due at start + k/rate and goes out on the first free slot;
// its latency counts from when it was due, so a server that falls behind shows it (no coordinated
// omission). Each slot has its
// own connection, for gRPC as for HTTP (one gRPC channel per slot): multiplexing large requests
// on one HTTP/2 connection measured about half the throughput at concurrency 4.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/client_security.h"
#include "core/error.h"
#include "core/inference.h"

namespace ferry::cli {

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  bool tls = false;                                           // https://
  std::shared_ptr<boost::asio::ssl::context> tls_context;     // HTTP over TLS
  ClientSecurity security;                                    // gRPC over TLS: its credentials' files
  std::string token;                                          // bearer token, or empty
  bool grpc = false;
  bool binary = false;  // HTTP only: binary tensor data both ways
  int concurrency = 1;         // closed loop: requests in flight; with request_rate: the most in flight
  double request_rate = 0;     // > 0: open loop, one request every 1/rate s, each on a free slot
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds duration{5000};
};

struct LoadResult {
  int concurrency = 0;
  double request_rate = 0;
  double seconds = 0;
  std::uint64_t requests = 0;  // answered successfully within the measured window
  std::uint64_t errors = 0;
  double throughput = 0;       // successful requests per second
  double p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0;
  std::string first_error;     // one error message, to show what went wrong
};

// Runs one load step; `request` names the model (and version) and carries the inputs. Over gRPC
// through the gRPC module (cli/grpc_module.h).
core::Result<LoadResult> RunLoad(const LoadOptions& options, const core::InferenceRequest& request);

}  // namespace ferry::cli
