// HttpServer: the HTTP/1.1 frontend (Boost.Beast on Asio) serving the KServe V2 REST routes.
//
// Threads: `threads` I/O threads, each running its own io_context; accepted connections are
// spread over them round-robin and each connection stays on one thread, so a connection needs no
// locking. I/O threads only parse, route and write: inference is handed to the model's scheduler
// and its answer is posted back to the connection's thread.
//
// Lifecycle: Create() binds and starts serving; Stop() (or the destructor) closes the listener,
// stops the I/O threads and joins them. The runtime::Server must outlive the HttpServer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/limits.h"
#include "runtime/server.h"
#include "server/http/http_routes.h"

namespace ferry::http {

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;                    // 0: any free port (see port())
    int threads = 0;                              // 0: one per hardware thread
    std::size_t max_request_bytes = 64u << 20;    // larger bodies are answered 413
    std::size_t max_header_bytes = 16u << 10;     // larger request headers are answered 431
    std::chrono::milliseconds idle_timeout{60000};  // a connection must send a complete request header
                                                    // within this, counted from its last answer
    std::chrono::milliseconds body_timeout{60000};  // and then its body within this
    int max_connections = 4096;                   // more are answered 503 and closed
    core::RequestLimits limits;                   // checked by the JSON codec
    const auth::TokenAuth* auth = nullptr;        // null: no authentication; must outlive the server
    bool metrics_only = false;                    // serve GET /metrics and the health probes alone (--metrics-port)
    bool dashboard = true;                        // serve the dashboard page at / and /ui/ (--no-ui: off)
    std::string tls_cert;       // PEM certificate chain: serve HTTPS (with tls_key)
    std::string tls_key;        // PEM private key
    std::string tls_client_ca;  // PEM CAs: require client certificates signed by them (mutual TLS)
  };

  static core::Result<std::unique_ptr<HttpServer>> Create(const Options& options, runtime::Server& server);
  ~HttpServer();

  // The port actually bound.
  std::uint16_t port() const;
  int threads() const;

  // Graceful stop: requests being handled get their answers (marked Connection: close); while
  // they do, health probes and /metrics are still answered (readiness says 503) and any other new
  // request gets 503; then Stop(). Returns how many requests were still unanswered when
  // `timeout` passed (0: all answered).
  int Shutdown(std::chrono::milliseconds timeout);

  // Stops accepting and closes the I/O threads at once; idempotent.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::http
