#include "cli/serve_command.h"

#include <csignal>
#include <memory>
#include <spdlog/spdlog.h>

#include "observe/logging.h"
#include "runtime/server.h"
#include "server/grpc/grpc_server.h"
#include "server/http/http_server.h"

namespace ferry::cli {
namespace {

struct ServeOptions {
  std::string model_repository;
  http::HttpServer::Options http;
  std::uint16_t grpc_port = 8001;     // 0: no gRPC frontend
  std::uint16_t metrics_port = 8002;  // 0: metrics only on the HTTP port
  std::string log_level = "info";
};

int Serve(const ServeOptions& options) {
  if (auto logging = observe::InitLogging(options.log_level); !logging) {
    fmt::print(stderr, "ferry serve: {}\n", logging.error().message);
    return 2;
  }
  // Signals are taken by sigwait below; block them before any thread starts so none gets them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = runtime::Server::Create({.model_repository = options.model_repository});
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 1;
  }
  auto http = http::HttpServer::Create(options.http, **server);
  if (!http) {
    spdlog::error("{}", http.error().message);
    return 1;
  }
  std::unique_ptr<grpc_frontend::GrpcServer> grpc;
  if (options.grpc_port != 0) {
    auto created = grpc_frontend::GrpcServer::Create(
        {.host = options.http.host, .port = options.grpc_port, .max_message_bytes = options.http.max_request_bytes},
        **server);
    if (!created) {
      spdlog::error("{}", created.error().message);
      return 1;
    }
    grpc = std::move(*created);
    spdlog::info("serving KServe V2 gRPC on {}:{}", options.http.host, grpc->port());
  }
  std::unique_ptr<http::HttpServer> metrics;
  if (options.metrics_port != 0) {
    auto metrics_options = options.http;
    metrics_options.port = options.metrics_port;
    metrics_options.threads = 1;
    metrics_options.metrics_only = true;
    auto created = http::HttpServer::Create(metrics_options, **server);
    if (!created) {
      spdlog::error("{}", created.error().message);
      return 1;
    }
    metrics = std::move(*created);
    spdlog::info("serving Prometheus metrics on {}:{}/metrics", options.http.host, metrics->port());
  }
  const auto port = (*http)->port();
  spdlog::info("serving KServe V2 HTTP on {}:{} ({} I/O threads)", options.http.host, port, (*http)->threads());
  for (const auto& status : (*server)->RepositoryIndex()) {
    if (status.state == runtime::ModelState::kReady) {
      spdlog::info("try: curl http://{}:{}/v2/models/{}", options.http.host, port, status.name);
      break;
    }
  }

  int signal = 0;
  sigwait(&signals, &signal);
  spdlog::info("received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->BeginShutdown();
  (*http)->Stop();
  if (grpc) grpc->Stop();
  if (metrics) metrics->Stop();
  server->reset();  // answers what is still queued while the I/O contexts still exist
  http->reset();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve =
      app.add_subcommand("serve", "Serve the models of a model repository over KServe V2 HTTP and gRPC");
  serve->add_option("--model-repository", options->model_repository,
                    "Folder holding <model>/<version>/model.onnx (and optional <model>/model.yaml)")
      ->required()
      ->check(CLI::ExistingDirectory);
  serve->add_option("--http-host", options->http.host, "Address to listen on")->capture_default_str();
  serve->add_option("--http-port", options->http.port, "HTTP port (0: any free port)")->capture_default_str();
  serve->add_option("--grpc-port", options->grpc_port, "gRPC port, on the --http-host address (0: no gRPC)")
      ->capture_default_str();
  serve->add_option("--http-threads", options->http.threads, "HTTP I/O threads (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  serve->add_option("--metrics-port", options->metrics_port,
                    "Port for GET /metrics alone, on the --http-host address (0: none; /metrics is on the HTTP "
                    "port too)")
      ->capture_default_str();
  serve->add_option("--max-request-bytes", options->http.max_request_bytes,
                    "Largest request accepted (HTTP body or gRPC message); larger ones get 413 / RESOURCE_EXHAUSTED")
      ->capture_default_str();
  serve->add_option("--log-level", options->log_level, "trace, debug, info, warn, error or off")->capture_default_str();
  serve->callback([options, &exit_code] { exit_code = Serve(*options); });
}

}  // namespace ferry::cli
