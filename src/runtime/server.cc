#include "runtime/server.h"

#include <algorithm>
#include <thread>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/version.h"
#include "model/repository.h"
#include "runtime/live_figures.h"
#include "runtime/monitoring.h"
#include "runtime/tracing.h"
#include "routing/feedback.h"
#include "routing/router_config.h"

namespace ferry::runtime {

Server::Server(const Options& options)
    : options_(options),
      explanations_(256, options.explain_threads > 0 ? options.explain_threads
                                                     : std::max(1u, std::thread::hardware_concurrency())),
      monitor_sinks_(options.monitoring_kafka),
      control_({.repository = options.model_repository,
                .mode = options.model_control,
                .poll_interval = options.poll_interval,
                .startup_models = options.startup_models,
                .unload_first = options.unload_first,
                .request_decoder = options.request_decoder,
                .routing = {.resolver = this, .timer = &timer_},
                .staging_directory = {},
                .explain_limits = options.explain_limits,
                .inline_below = options.inline_below,
                .monitoring = &options_.monitoring,
                .monitor_sinks = &monitor_sinks_},
               table_) {
  live_figures_ = std::make_unique<LiveFigures>();
}

core::Result<std::unique_ptr<Server>> Server::Create(const Options& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.model_repository, ec)) {
    return core::NotFound(fmt::format("model repository '{}' is not a directory", options.model_repository.string()));
  }
  std::unique_ptr<Server> server(new Server(options));
  Server* raw = server.get();
  server->control_.Start([raw] {
    std::size_t ready = 0, models = 0;
    for (const auto& model : raw->table_.All()) {
      ++models;
      if (model->HasReadyVersion()) ++ready;
    }
    spdlog::info("startup loading done: {} of {} model(s) ready", ready, models);
    {
      std::lock_guard lock(raw->started_mutex_);
      raw->started_ = true;
    }
    raw->started_cv_.notify_all();
  });
  return server;
}

Server::~Server() {
  control_.Stop();
  // Each version runs what its queue holds as it is freed; their continuations may still resolve
  // names (a pipeline's next model step), which then find nothing rather than a table being torn down.
  for (auto& model : table_.All()) table_.Remove(model->name);
}

std::string Server::NotReadyReason() const {
  if (!started_.load(std::memory_order_relaxed)) return "the startup models are still loading";
  if (shutting_down_.load(std::memory_order_relaxed)) return "shutting down";
  if (options_.strict_readiness) {
    for (const auto& model : table_.All()) {
      if (!model->HasReadyVersion()) return fmt::format("model '{}' has no version that serves", model->name);
    }
  }
  std::lock_guard lock(metrics_mutex_);
  for (const auto& source : stream_sources_) {
    if (auto why = source.not_ready(); !why.empty()) return why;
  }
  return {};
}

bool Server::WaitUntilReady(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(started_mutex_);
  started_cv_.wait_for(lock, timeout, [this] { return started_.load(); });
  return IsReady();
}

void Server::LoadModel(std::string name, LoadRequest request, ModelControl::Done done) {
  control_.Load(std::move(name), std::move(request), std::move(done));
}

void Server::UnloadModel(std::string name, ModelControl::Done done) { control_.Unload(std::move(name), std::move(done)); }

ServerMetadata Server::Metadata() const {
  return {.name = "ferry", .version = kFerryVersion, .extensions = {"binary_tensor_data", "classification", "statistics", "model_configuration",
                                                             "model_repository"}};
}

core::Result<routing::ServableHandle> Server::Resolve(std::string_view name, std::int64_t version) const {
  const auto model = table_.Find(name);
  if (!model) {
    std::error_code ec;
    if (!model::IsPlainName(name) || !std::filesystem::is_directory(options_.model_repository / name, ec)) {
      return core::NotFound(fmt::format("unknown model '{}'", name));
    }
    if (!started_.load(std::memory_order_relaxed) && control_.LoadsAtStart(name)) {
      return core::Unavailable(fmt::format("model '{}' is not loaded yet: the server is still starting", name));
    }
    return core::NotFound(fmt::format("model '{}' is not loaded{}", name,
                                      control_.mode() == ControlMode::kExplicit
                                          ? fmt::format(" (load it: POST /v2/repository/models/{}/load)", name)
                                          : std::string()));
  }
  const ServedModel& m = *model;
  if (m.versions.empty()) return core::Unavailable(fmt::format("model '{}' is unavailable: {}", name, m.error));
  if (version == 0) {
    for (auto v = m.versions.rbegin(); v != m.versions.rend(); ++v) {
      if (v->second->state == ModelState::kReady) return v->second->servable;
    }
    const auto& latest = *m.versions.rbegin()->second;
    return core::Unavailable(fmt::format("model '{}' version {} is unavailable: {}", name, latest.version,
                                         latest.reason));
  }
  auto v = m.versions.find(version);
  if (v == m.versions.end()) {
    std::vector<std::int64_t> served;
    for (const auto& [n, _] : m.versions) served.push_back(n);
    return core::NotFound(fmt::format("model '{}' has no version {} being served (served: {})", name, version,
                                      served));
  }
  if (v->second->state != ModelState::kReady) {
    return core::Unavailable(fmt::format("model '{}' version {} is unavailable: {}", name, version, v->second->reason));
  }
  return v->second->servable;
}

std::vector<std::string> Server::TargetsOf(std::string_view name) const {
  if (auto servable = Resolve(name, 0)) return (*servable)->Targets();
  const auto model = table_.Find(name);
  if (!model || !model->config.is_router) return {};
  auto config = routing::ParseRouterConfig(model->config.yaml_text, model->config.yaml_source);
  return config ? routing::TargetNames(*config) : std::vector<std::string>{};
}

core::Result<ModelMetadata> Server::GetModelMetadata(std::string_view name, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto servable, Resolve(name, version));
  ModelMetadata meta{.name = std::string(name), .versions = {}, .platform = std::string(servable->platform()),
                     .signature = servable->Signature(), .record_fields = servable->RecordFields()};
  const auto model = table_.Find(name);
  if (!model) return meta;  // unloaded meanwhile
  for (const auto& [n, v] : model->versions) {
    if (v->state == ModelState::kReady && (version == 0 || n == version)) meta.versions.push_back(n);
  }
  return meta;
}

core::Result<bool> Server::IsModelReady(std::string_view name, std::int64_t version) const {
  auto servable = Resolve(name, version);
  if (servable) return (*servable)->Ready();
  if (servable.error().code == core::ErrorCode::kUnavailable) return false;
  return std::unexpected(servable.error());
}

std::vector<ModelStatus> Server::RepositoryIndex() const { return control_.Index(); }
std::vector<ModelStatus> Server::VersionStates() const { return control_.VersionStates(); }

void Server::CallOperation(std::string_view name, std::int64_t version, std::string operation, std::string body,
                           OperationDone done) {
  auto servable = Resolve(name, version);
  if (!servable) return done(std::unexpected(servable.error()));
  const auto ops = (*servable)->Operations();
  if (std::find(ops.begin(), ops.end(), operation) == ops.end()) {
    return done(core::NotFound(fmt::format("model '{}' has no operation '{}' (it has: {})", name, operation,
                                           ops.empty() ? "none" : fmt::format("{}", fmt::join(ops, ", ")))));
  }
  auto shared = std::make_shared<OperationDone>(std::move(done));
  const bool queued = operations_.Push([servable = std::move(*servable), operation = std::move(operation),
                                        body = std::move(body), shared] {
    (*shared)(servable->Call(operation, body));
  });
  if (!queued) (*shared)(core::Unavailable("too many operations are waiting; try again later"));
}

bool Server::HasOwnExplain(std::string_view name, std::int64_t version) const {
  auto servable = Resolve(name, version);
  if (!servable) return false;
  const auto ops = (*servable)->Operations();
  return std::find(ops.begin(), ops.end(), "explain") != ops.end();
}

void Server::Explain(core::InferenceRequest&& request, ExplainDone done) {
  auto servable = Resolve(request.model_name, request.model_version);
  if (!servable) return done(std::unexpected(servable.error()));
  auto call = std::make_shared<core::InferenceRequest>(std::move(request));
  Explaining(std::move(done), [servable = std::move(*servable), call] { return servable->Explain(std::move(*call)); });
}

bool Server::TakesRecords(std::string_view name, std::int64_t version) const {
  auto servable = Resolve(name, version);
  return servable && (*servable)->TakesRecords();
}

void Server::ExplainRecords(std::string_view name, std::int64_t version, std::vector<core::Record> records,
                            ExplainDone done) {
  auto servable = Resolve(name, version);
  if (!servable) return done(std::unexpected(servable.error()));
  auto call = std::make_shared<std::vector<core::Record>>(std::move(records));
  Explaining(std::move(done),
             [servable = std::move(*servable), call] { return servable->ExplainRecords(std::move(*call)); });
}

void Server::Explaining(ExplainDone done, std::move_only_function<core::Result<core::Explanation>()> explain) {
  auto shared = std::make_shared<ExplainDone>(std::move(done));
  auto work = std::make_shared<decltype(explain)>(std::move(explain));
  const bool queued = explanations_.Push([work, shared] { (*shared)((*work)()); });
  if (!queued) (*shared)(core::Unavailable("too many operations are waiting; try again later"));
}

core::Result<ModelConfiguration> Server::GetModelConfig(std::string_view name, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto servable, Resolve(name, version));
  const auto model = table_.Find(name);
  if (!model) return core::NotFound(fmt::format("unknown model '{}'", name));
  ModelConfiguration configuration{.config = model->config,
                                   .platform = std::string(servable->platform()),
                                   .backend = std::string(servable->backend()),
                                   .signature = servable->Signature()};
  configuration.config.instances = model::InstanceCount(model->config, configuration.backend);
  return configuration;
}

std::vector<routing::ServableHandle> Server::ServingVersions() const {
  std::vector<routing::ServableHandle> serving;
  for (const auto& m : table_.All()) {
    for (const auto& [n, v] : m->versions) {
      if (v->state == ModelState::kReady) serving.push_back(v->servable);
    }
  }
  return serving;
}

core::Result<std::vector<VersionStatistics>> Server::GetStatistics(std::string_view name, std::int64_t version) const {
  std::vector<routing::ServableHandle> versions;
  if (!name.empty() && version > 0) {
    FERRY_ASSIGN_OR_RETURN(auto servable, Resolve(name, version));
    versions.push_back(std::move(servable));
  } else {
    if (!name.empty()) FERRY_RETURN_IF_ERROR(Resolve(name, 0));  // unknown or unavailable model
    for (auto& servable : ServingVersions()) {
      if (name.empty() || servable->name() == name) versions.push_back(std::move(servable));
    }
  }
  std::vector<VersionStatistics> result;
  for (const auto& v : versions) {
    result.push_back({.name = v->name(), .version = v->version(), .stats = v->statistics().Snapshot(),
                      .queue_depth = v->queue_depth()});
  }
  return result;
}

FiguresReport Server::LiveFiguresReport() const {
  return live_figures_->Report(
      [this] {
        auto stats = GetStatistics("", 0);
        return stats ? std::move(*stats) : std::vector<VersionStatistics>{};
      },
      std::chrono::steady_clock::now(), std::chrono::system_clock::now());
}

void Server::Infer(core::InferenceRequest&& request, const routing::CallContext& context, routing::InferDone done) {
  auto servable = Resolve(request.model_name, request.model_version);
  if (!servable) return done(std::unexpected(std::move(servable).error()));
  if (auto feedback = routing::FeedbackOf(request)) {  // feedback for a bandit, over the infer call
    if (!*feedback) return done(std::unexpected(std::move(*feedback).error()));
    auto results = (*servable)->ApplyFeedback({std::move(**feedback)});
    if (!results) return done(std::unexpected(std::move(results).error()));
    return done(routing::FeedbackAnswer(request, results->front()));
  }
  TracedContext traced_context(context);
  auto traced = TraceInfer(options_.tracer.get(), **servable, traced_context, std::move(done));
  auto watched = WatchInfer(**servable, request, traced_context, std::move(traced));
  (*servable)->Infer(std::move(request), traced_context, std::move(watched));
}

void Server::Predict(std::string_view name, std::int64_t version, std::vector<core::Record> records,
                     const routing::CallContext& context, routing::PredictDone done) {
  auto servable = Resolve(name, version);
  if (!servable) return done(std::unexpected(std::move(servable).error()));
  TracedContext traced_context(context);
  TracedContext* traced_contexts[] = {&traced_context};
  const routing::CallContext* contexts[] = {&traced_context};
  auto traced = TracePredict(options_.tracer.get(), **servable, records.size(), traced_contexts, std::move(done));
  auto watched = WatchPredict(**servable, records, contexts, std::move(traced));
  (*servable)->Predict(std::move(records), contexts, std::move(watched));
}

core::Result<routing::RoutingState> Server::GetRouting(std::string_view name) const {
  FERRY_ASSIGN_OR_RETURN(auto servable, Resolve(name, 0));
  return servable->Routing();
}

core::Result<void> Server::SetWeights(std::string_view name,
                                      const std::vector<std::pair<std::string, double>>& weights) {
  FERRY_ASSIGN_OR_RETURN(auto servable, Resolve(name, 0));
  return servable->SetWeights(weights);
}

core::Result<std::vector<routing::FeedbackResult>> Server::ApplyFeedback(
    std::string_view name, const std::vector<routing::Feedback>& feedback) {
  FERRY_ASSIGN_OR_RETURN(auto servable, Resolve(name, 0));
  return servable->ApplyFeedback(feedback);
}

core::Error Server::RequestError(std::string_view name, std::int64_t version, core::Error error) const {
  if (auto servable = Resolve(name, version); !servable && servable.error().code == core::ErrorCode::kNotFound) {
    return servable.error();
  }
  return error;
}

std::vector<MonitoringStatus> Server::MonitoringReport(std::string_view name) const {
  std::vector<MonitoringStatus> report;
  for (const auto& servable : ServingVersions()) {
    const auto& monitor = servable->monitor();
    if (!monitor || (!name.empty() && servable->name() != name)) continue;
    report.push_back({.model = servable->name(),
                      .version = servable->version(),
                      .sink = monitor->config().SinkName(),
                      .format = std::string(observe::FormatName(monitor->config().format)),
                      .rate = monitor->rate(),
                      .every = monitor->config().every,
                      .counters = monitor->counters()});
  }
  return report;
}

core::Result<std::size_t> Server::SetMonitoringRate(std::string_view name, double rate) {
  if (!(rate >= 0 && rate <= 1)) {
    return core::InvalidArgument(fmt::format("'rate' must be between 0 and 1, got {}", rate));
  }
  if (auto found = Resolve(name, 0); !found) return std::unexpected(std::move(found).error());
  std::size_t set = 0;
  for (const auto& servable : ServingVersions()) {
    if (servable->name() != name || !servable->monitor()) continue;
    servable->monitor()->SetRate(rate);
    ++set;
  }
  if (set == 0) {
    return core::InvalidArgument(fmt::format(
        "model '{}' is not monitored: give its model.yaml (or ferry.yaml) a monitoring section with a sink", name));
  }
  return set;
}

void Server::AddMetricsSource(std::function<void(std::string&)> render) {
  std::lock_guard lock(metrics_mutex_);
  metrics_sources_.push_back(std::move(render));
}

void Server::AddStreamSource(StreamSource source) {
  std::lock_guard lock(metrics_mutex_);
  stream_sources_.push_back(std::move(source));
}

std::vector<std::string> Server::StreamStatus() const {
  std::vector<std::string> objects;
  std::lock_guard lock(metrics_mutex_);
  for (const auto& source : stream_sources_) source.status(objects);
  return objects;
}

void Server::RenderMetricsSources(std::string& out) const {
  std::lock_guard lock(metrics_mutex_);
  for (const auto& render : metrics_sources_) render(out);
}

}  // namespace ferry::runtime
