// GrpcServer: the KServe V2 gRPC frontend (inference.GRPCInferenceService, proto/).
//
// Built on gRPC's callback API: an RPC handler decodes, hands inference to the model's scheduler
// and returns at once; the scheduler thread that finishes the inference completes the RPC. No
// gRPC thread waits on a model. gRPC sizes its own small thread pool for the callbacks.
//
// Lifecycle: Create() binds and starts serving; Stop() (or the destructor) stops accepting,
// cancels what is pending after `shutdown_grace`, and waits for handlers to finish. The
// runtime::Server must outlive the GrpcServer.
//
// An interface, its implementation and Create in grpc_server.cc: the `ferry` program reaches them
// through the gRPC module (cli/grpc_module.h) without linking gRPC; libferry links them in.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/limits.h"
#include "server/auth/token_auth.h"
#include "runtime/server.h"

namespace ferry::grpc_frontend {

class GrpcServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8001;                 // 0: any free port (see port()); `ferry serve` takes 0 as "off"
    std::size_t max_message_bytes = 64u << 20; // larger requests are refused RESOURCE_EXHAUSTED
    std::chrono::milliseconds shutdown_grace{2000};
    core::RequestLimits limits;
    const auth::TokenAuth* auth = nullptr;  // null: no authentication; must outlive the server
    std::string tls_cert;       // PEM files, as for HTTP: TLS with tls_key,
    std::string tls_key;
    std::string tls_client_ca;  // and client certificates required when set (mutual TLS)
  };

  static core::Result<std::unique_ptr<GrpcServer>> Create(const Options& options, runtime::Server& server);
  virtual ~GrpcServer() = default;

  virtual std::uint16_t port() const = 0;
  virtual void Stop() = 0;
};

}  // namespace ferry::grpc_frontend
