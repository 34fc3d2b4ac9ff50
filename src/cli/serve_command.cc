#include "cli/serve_command.h"

#include <csignal>
#include <cstdlib>
#include <thread>
#include <memory>
#include <spdlog/spdlog.h>

#include "backends/plugin.h"
#include "model/single_model.h"
#include "observe/logging.h"
#include "runtime/server.h"
#include "server/auth/token_auth.h"
#include "cli/grpc_module.h"
#include "server/grpc/grpc_server.h"
#include "server/http/http_server.h"
#include "protocol/v2_json.h"
#include "stream/kafka/kafka_monitor_sink.h"
#include "stream/model_topic.h"
#include "stream/stream_config.h"
#include "stream/stream_loop.h"

namespace ferry::cli {
namespace {

// What `ferry serve` does unless told otherwise is what the runtime does.
const runtime::Server::Options kServerDefaults;

struct ServeOptions {
  std::string model_repository;
  std::string model_name;  // set: model_repository holds this one model's files (KServe's /mnt/models)
  std::string model_control = "none";
  double poll_secs = std::chrono::duration<double>(kServerDefaults.poll_interval).count();
  std::vector<std::string> load_models;
  bool strict_readiness = false;
  bool no_ui = false;
  std::string reload_strategy = "swap";
  routing::ExplainLimits explain;  // --explain-max-*
  std::size_t explain_threads = 0;
  std::int64_t inline_below_us = kServerDefaults.inline_below.count();
  std::string trace_file;      // tracing on when this or trace_endpoint is set (docs/tracing.md)
  std::string trace_endpoint;  // OTLP/HTTP
  double trace_rate = 1.0;
  http::HttpServer::Options http;
  std::uint16_t grpc_port = 8001;     // 0: no gRPC frontend
  std::uint16_t metrics_port = 8002;  // 0: metrics only on the HTTP port
  std::string log_level = "info";
  double shutdown_timeout_s = 30;
  double idle_timeout_s = 60;
  std::string auth_token_file;
  std::string tls_cert, tls_key, tls_client_ca;
  double body_timeout_s = 60;
  std::string config_file;  // ferry.yaml: Kafka streams
  std::string backend_directory;  // empty: backends::PluginDirectory()'s default
};

// Kafka sinks of the monitoring stream, with ferry.yaml's connection; none without a kafka section.
observe::MonitorSinks::KafkaFactory MonitoringKafka(const stream::StreamConfig& config) {
  if (config.bootstrap_servers.empty()) return {};
  return [servers = config.bootstrap_servers, properties = config.properties](const observe::MonitorConfig& monitoring)
             -> core::Result<std::shared_ptr<observe::MonitorSink>> {
    FERRY_ASSIGN_OR_RETURN(auto sink, stream::KafkaMonitorSink::Create(servers, properties, monitoring.topic));
    return sink;
  };
}

int Serve(const ServeOptions& options) {
  if (auto logging = observe::InitLogging(options.log_level); !logging) {
    fmt::print(stderr, "ferry serve: {}\n", logging.error().message);
    return 2;
  }
  if (!options.backend_directory.empty()) backends::SetPluginDirectory(options.backend_directory);
  spdlog::debug("backend plugins are read from {}", backends::PluginDirectory().string());
  // Signals are taken by sigwait below; block them before any thread starts so none gets them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<auth::TokenAuth> tokens;
  if (!options.auth_token_file.empty()) {
    auto loaded = auth::TokenAuth::Load(options.auth_token_file);
    if (!loaded) {
      spdlog::error("{}", loaded.error().message);
      return 2;
    }
    tokens = std::move(*loaded);
    spdlog::info("token authentication on: {} token(s) from {}", tokens->size(), options.auth_token_file);
  }
  stream::StreamConfig streams;
  if (!options.config_file.empty()) {
    auto loaded = stream::LoadStreamConfig(options.config_file);
    if (!loaded) {
      spdlog::error("{}", loaded.error().message);
      return 2;
    }
    streams = std::move(*loaded);
  }
  std::unique_ptr<model::SingleModelRepository> single;
  std::string repository = options.model_repository;
  if (!options.model_name.empty()) {
    auto made = model::SingleModelRepository::Create(options.model_repository, options.model_name);
    if (!made) {
      spdlog::error("{}", made.error().message);
      return 2;
    }
    single = std::move(*made);
    repository = single->root().string();
    spdlog::info("serving {} as the model '{}' (version 1)", options.model_repository, options.model_name);
  }
  const auto mode = options.model_control == "poll"       ? runtime::ControlMode::kPoll
                    : options.model_control == "explicit" ? runtime::ControlMode::kExplicit
                                                          : runtime::ControlMode::kNone;
  std::shared_ptr<observe::Tracer> tracer;
  if (!options.trace_file.empty() || !options.trace_endpoint.empty()) {
    auto created = observe::Tracer::Create(
        {.rate = options.trace_rate, .file = options.trace_file, .endpoint = options.trace_endpoint});
    if (!created) {
      spdlog::error("{}", created.error().message);
      return 2;
    }
    tracer = std::move(*created);
    spdlog::info("tracing on: spans of {:.0f}% of the traces that start here (and of those whose caller sampled "
                 "them) to {}", options.trace_rate * 100,
                 options.trace_file.empty() ? options.trace_endpoint
                 : options.trace_endpoint.empty() ? options.trace_file
                                                  : options.trace_file + " and " + options.trace_endpoint);
  }
  auto server = runtime::Server::Create(
      {.model_repository = repository,
       .model_control = mode,
       .poll_interval = std::chrono::milliseconds(static_cast<std::int64_t>(options.poll_secs * 1000)),
       .startup_models = options.load_models,
       .strict_readiness = options.strict_readiness,
       .unload_first = options.reload_strategy == "unload-first",
       .request_decoder = [](std::string_view json) { return protocol::DecodeInferRequest(json); },
       .explain_limits = options.explain,
       .explain_threads = options.explain_threads,
       .inline_below = std::chrono::microseconds(options.inline_below_us),
       .monitoring = streams.monitoring,
       .monitoring_kafka = MonitoringKafka(streams),
       .tracer = tracer});
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 1;
  }
  if (tracer) (*server)->AddMetricsSource([tracer](std::string& out) { tracer->RenderMetrics(out); });
  auto http_options = options.http;
  http_options.auth = tokens.get();
  http_options.dashboard = !options.no_ui;
  http_options.tls_cert = options.tls_cert;
  http_options.tls_key = options.tls_key;
  http_options.tls_client_ca = options.tls_client_ca;
  http_options.idle_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.idle_timeout_s * 1000));
  http_options.body_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.body_timeout_s * 1000));
  auto http = http::HttpServer::Create(http_options, **server);
  if (!http) {
    spdlog::error("{}", http.error().message);
    return 1;
  }
  std::unique_ptr<grpc_frontend::GrpcServer> grpc;
  if (options.grpc_port != 0) {
    auto module = LoadGrpcModule();
    if (!module) {
      spdlog::error("{} (--grpc-port 0 serves without gRPC)", module.error().message);
      return 1;
    }
    auto created = (*module)->create_server(
        {.host = options.http.host,
         .port = options.grpc_port,
         .max_message_bytes = options.http.max_request_bytes,
         .shutdown_grace = std::chrono::milliseconds(static_cast<std::int64_t>(options.shutdown_timeout_s * 1000)),
         .limits = options.http.limits,
         .auth = tokens.get(),
         .tls_cert = options.tls_cert,
         .tls_key = options.tls_key,
         .tls_client_ca = options.tls_client_ca},
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
    auto metrics_options = http_options;
    metrics_options.port = options.metrics_port;
    metrics_options.threads = 1;
    metrics_options.metrics_only = true;
    // Probes and scrapers need no client certificate: this port serves TLS without mutual TLS.
    metrics_options.tls_client_ca.clear();
    auto created = http::HttpServer::Create(metrics_options, **server);
    if (!created) {
      spdlog::error("{}", created.error().message);
      return 1;
    }
    metrics = std::move(*created);
    spdlog::info("serving Prometheus metrics on {}:{}/metrics", options.http.host, metrics->port());
  }
  const auto port = (*http)->port();
  spdlog::info("serving KServe V2 {} on {}:{} ({} I/O threads)", options.tls_cert.empty() ? "HTTP" : "HTTPS",
               options.http.host, port, (*http)->threads());
  spdlog::info("try: curl http://{}:{}/v2/health/ready (200 once the models are loaded)", options.http.host, port);

  // Models over Kafka, then streams, once the startup models are loaded (so that the first
  // events find them).
  std::unique_ptr<stream::ModelSubscriber> models_topic;
  if (!streams.models_topic.empty()) {
    (*server)->WaitUntilReady(std::chrono::minutes(10));
    auto subscriber = stream::ModelSubscriber::Start(streams, repository, **server);
    if (!subscriber) {
      spdlog::error("{}", subscriber.error().message);
      return 2;
    }
    models_topic = std::move(*subscriber);
    (*server)->AddMetricsSource([counters = models_topic->counters()](std::string& out) {
      stream::RenderModelTopicMetrics(*counters, out);
    });
  }
  std::vector<std::unique_ptr<stream::RunningStream>> runners;
  if (!streams.streams.empty()) {
    (*server)->WaitUntilReady(std::chrono::minutes(10));
    for (const auto& spec : streams.streams) {
      auto runner = stream::StartStream(streams, spec, **server);
      if (!runner) {
        spdlog::error("{}", runner.error().message);
        return 2;
      }
      runners.push_back(std::move(*runner));
    }
    std::vector<stream::StreamView> views;
    for (const auto& runner : runners) views.push_back(runner->view());
    (*server)->AddMetricsSource([views](std::string& out) { stream::RenderStreamMetrics(views, out); });
    (*server)->AddStreamSource({.status = [views](std::vector<std::string>& out) { stream::RenderStreamStatus(views, out); },
                                .not_ready = [views] { return stream::StreamsNotReady(views); }});
  }

  int signal = 0;
  sigwait(&signals, &signal);
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.shutdown_timeout_s * 1000));
  spdlog::info("received {}: finishing requests in flight (at most {} s; a second signal exits at once)",
               signal == SIGINT ? "SIGINT" : "SIGTERM", options.shutdown_timeout_s);
  std::thread([signals] {
    int again = 0;
    sigwait(&signals, &again);
    spdlog::warn("second signal: exiting at once");
    std::_Exit(1);
  }).detach();
  (*server)->BeginShutdown();
  // Streams first: the batch in hand is finished, its outputs acknowledged and its offsets committed.
  for (auto& runner : runners) runner->Stop();
  runners.clear();
  if (models_topic) models_topic->Stop();
  std::thread grpc_stop([&] {
    if (grpc) grpc->Stop();  // waits for RPCs in flight up to the grace period
  });
  const int unanswered = (*http)->Shutdown(timeout);
  if (unanswered > 0) {
    spdlog::error("shutdown timeout: {} HTTP request(s) got no answer (--shutdown-timeout {} s)", unanswered,
                  options.shutdown_timeout_s);
  }
  grpc_stop.join();
  if (metrics) metrics->Stop();
  server->reset();  // answers what is still queued while the I/O contexts still exist
  http->reset();
  return unanswered > 0 ? 3 : 0;
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
  serve->add_option("--model-name", options->model_name,
                    "Serve --model-repository as this one model (version 1): the folder holds the model's files "
                    "and model.yaml, as KServe leaves a model in /mnt/models");
  serve->add_option("--config", options->config_file,
                    "ferry.yaml: Kafka streams to run (source topic -> model or pipeline -> sink topic; "
                    "docs/streaming.md)")
      ->check(CLI::ExistingFile);
  serve->add_option("--model-control", options->model_control,
                    "none: load the repository at start; poll: also apply its changes while serving; explicit: "
                    "load --load-model models, then what the repository API asks")
      ->check(CLI::IsMember({"none", "poll", "explicit"}))
      ->capture_default_str();
  serve->add_option("--repository-poll-secs", options->poll_secs, "Seconds between repository scans (poll)")
      ->check(CLI::Range(0.05, 86400.0))
      ->capture_default_str();
  serve->add_option("--load-model", options->load_models, "A model to load at start (explicit; repeatable; * for all)");
  serve->add_flag("--strict-readiness", options->strict_readiness,
                  "Report not ready while any loaded model has no version that serves");
  serve->add_option("--reload-strategy", options->reload_strategy,
                    "swap: load the new version beside the old, then switch; unload-first: free the old first "
                    "(for models too large to hold twice; the model is unavailable meanwhile)")
      ->check(CLI::IsMember({"swap", "unload-first"}))
      ->capture_default_str();
  serve->add_option("--trace-file", options->trace_file,
                    "Trace requests (OpenTelemetry spans, docs/tracing.md) and write the spans to this file as OTLP "
                    "JSON, one export request a line");
  serve->add_option("--trace-endpoint", options->trace_endpoint,
                    "Trace requests and POST the spans to this OTLP/HTTP collector, as JSON "
                    "(http://host:4318/v1/traces)");
  serve->add_option("--trace-rate", options->trace_rate,
                    "Share of the traces that start at ferry to sample, 0..1 (default 1); a request with a W3C "
                    "traceparent follows its caller's decision")
      ->check(CLI::Range(0.0, 1.0));
  serve->add_option("--inline-below-us", options->inline_below_us,
                    "Run a request on the receiving thread, without a hand-off to the model's worker, when the "
                    "model's executions take less than this many microseconds on average, it does not wait to fill "
                    "batches and an instance is idle (0: always hand off)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000}))
      ->capture_default_str();
  serve->add_option("--explain-threads", options->explain_threads,
                    "Explanations computed at once, each on a thread of its own (0: one a core)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{256}))
      ->capture_default_str();
  serve->add_option("--explain-max-samples", options->explain.max_samples,
                    "KernelSHAP coalitions an explanation may ask for (docs/explain.md)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  serve->add_option("--explain-max-rows", options->explain.max_rows,
                    "Model rows KernelSHAP may value for one explanation request")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40))
      ->capture_default_str();
  serve->add_option("--explain-max-background", options->explain.max_background,
                    "Background rows a model's explanations may have (explain.rows or explain.background)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24))
      ->capture_default_str();
  serve->add_option("--http-host", options->http.host, "Address to listen on")->capture_default_str();
  serve->add_option("--http-port", options->http.port, "HTTP port (0: any free port)")->capture_default_str();
  serve->add_option("--grpc-port", options->grpc_port, "gRPC port, on the --http-host address (0: no gRPC)")
      ->capture_default_str();
  serve->add_flag("--no-ui", options->no_ui, "Do not serve the dashboard page at / and /ui/ (docs/dashboard.md)");
  serve->add_option("--http-threads", options->http.threads, "HTTP I/O threads (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  serve->add_option("--metrics-port", options->metrics_port,
                    "Port for GET /metrics and the health probes alone, on the --http-host address, TLS without "
                    "client certificates under --tls-client-ca (0: none; both are on the HTTP "
                    "port too)")
      ->capture_default_str();
  serve->add_option("--max-request-bytes", options->http.max_request_bytes,
                    "Largest request accepted (HTTP body or gRPC message); larger ones get 413 / RESOURCE_EXHAUSTED")
      ->capture_default_str();
  auto& limits = options->http.limits;
  serve->add_option("--max-header-bytes", options->http.max_header_bytes, "Largest request header; larger get 431")
      ->capture_default_str();
  serve->add_option("--idle-timeout", options->idle_timeout_s,
                    "Seconds a connection may take to send a request's header (counted from its last answer)")
      ->capture_default_str();
  serve->add_option("--body-timeout", options->body_timeout_s, "Seconds a connection may take to send a body")
      ->capture_default_str();
  serve->add_option("--max-connections", options->http.max_connections,
                    "Open HTTP connections at most; more are answered 503")
      ->capture_default_str();
  serve->add_option("--max-inputs", limits.max_inputs, "Inputs a request may have")->capture_default_str();
  serve->add_option("--max-tensor-elements", limits.max_tensor_elements, "Elements a tensor may have")
      ->capture_default_str();
  serve->add_option("--max-json-depth", limits.max_json_depth, "Nesting a JSON body may have")->capture_default_str();
  serve->add_option("--max-bytes-element", limits.max_bytes_element, "Bytes one BYTES element may have")
      ->capture_default_str();
  serve->add_option("--auth-token-file", options->auth_token_file,
                    "Require bearer tokens: a file of '<token> <scope>[,<scope>...]' lines (infer, read, admin)")
      ->check(CLI::ExistingFile);
  auto* cert = serve->add_option("--tls-cert", options->tls_cert, "PEM certificate chain: serve HTTPS and gRPC over TLS")
                   ->check(CLI::ExistingFile);
  auto* key = serve->add_option("--tls-key", options->tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  serve->add_option("--tls-client-ca", options->tls_client_ca, "PEM CAs whose client certificates are required (mutual TLS)")
      ->check(CLI::ExistingFile)
      ->needs(cert);
  serve->add_option("--shutdown-timeout", options->shutdown_timeout_s,
                    "Seconds to finish requests in flight after SIGTERM/SIGINT before exiting")
      ->capture_default_str();
  serve->add_option("--backend-directory", options->backend_directory,
                    "Folder of the backend plugins (libferry_backend_<name>.so); default: backends/ beside the "
                    "binary, else ../lib/ferry/backends from it")
      ->check(CLI::ExistingDirectory);
  serve->add_option("--log-level", options->log_level, "trace, debug, info, warn, error or off")->capture_default_str();
  serve->callback([options, &exit_code] { exit_code = Serve(*options); });
}

}  // namespace ferry::cli
