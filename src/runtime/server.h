// ferry::runtime::Server: the one in-process API every frontend (HTTP, gRPC, Kafka) and an
// embedding C++ program talks to -- health, metadata, the repository, statistics and inference.
// It resolves a model name to the servable that answers for it (a model, a pipeline or a router:
// routing/servable.h) and forwards; it never asks which kind it holds.
//
// Lifecycle: Create() starts loading the startup models in the background (see ModelControl)
// and returns at once, so frontends can answer health probes while models load; the server is
// ready once those loads are done (with strict readiness, once each of them serves). Models that
// fail to load are UNAVAILABLE with their reason, and the rest serve. Destruction stops model
// control and lets each version run what its queue holds.
//
// Thread safety: every method may be called concurrently from any thread. Infer and Predict
// never block on inference: they resolve, queue, and return; the callback runs later on a worker
// thread (or at once on the calling thread when the request is refused before queueing).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/inference.h"
#include "core/record.h"
#include "model/model_config.h"
#include "observe/monitor_config.h"
#include "observe/monitor_sinks.h"
#include "observe/tracer.h"
#include "routing/kernel_shap.h"
#include "routing/servable.h"
#include "routing/timer.h"
#include "runtime/model_control.h"
#include "runtime/model_table.h"
#include "runtime/task_queue.h"
#include "scheduler/statistics.h"

namespace ferry::runtime {

struct ServerMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> extensions;
};

struct ModelMetadata {
  std::string name;
  std::vector<std::int64_t> versions;  // the versions being served, ascending
  std::string platform;
  core::ModelSignature signature;
  // The record fields POST /v2/models/{m}/predict takes (pipelines, routers over them); empty otherwise.
  std::vector<core::RecordField> record_fields;
};

using OperationDone = std::move_only_function<void(core::Result<std::string>)>;

// The effective configuration of a model version: model.yaml with the defaults applied and the
// signature settled against the model file.
struct ModelConfiguration {
  model::ModelConfig config;
  std::string platform;
  std::string backend;
  core::ModelSignature signature;
};

// One version's monitoring stream, as GET /v2/monitoring reports it.
struct MonitoringStatus {
  std::string model;
  std::int64_t version = 0;
  std::string sink;    // file:PATH | kafka:TOPIC
  std::string format;  // json | cloudevents
  double rate = 0;
  std::uint64_t every = 0;
  observe::Monitor::Counters counters;
};

class LiveFigures;
struct FiguresReport;

struct VersionStatistics {
  std::string name;
  std::int64_t version = 0;
  sched::StatisticsSnapshot stats;
  std::size_t queue_depth = 0;  // requests waiting now
};

class Server final : public routing::Resolver {
 public:
  struct Options {
    std::filesystem::path model_repository;
    ControlMode model_control = ControlMode::kNone;
    std::chrono::milliseconds poll_interval{5000};  // kPoll
    std::vector<std::string> startup_models;        // kExplicit: names to load at start, "*" for all
    bool strict_readiness = false;  // ready only while every loaded model has a version that serves
    bool unload_first = false;      // free a model before loading it again
    RequestDecoder request_decoder;  // decodes warm-up request files (KServe V2 JSON)
    routing::ExplainLimits explain_limits;  // what an explanation may cost (docs/explain.md)
    std::size_t explain_threads = 0;        // explanations computed at once (0: one a core)
    // A model whose executions take less than this on average runs a request on the caller's
    // thread when an instance is idle (sched::Scheduler, "inline execution"); 0: never
    // (bench/hot_path.sh compares both).
    std::chrono::microseconds inline_below{100};
    // The monitoring stream (docs/monitoring.md): ferry.yaml's `monitoring` section, the default
    // of every model, and what makes Kafka sinks (the stream library, with ferry.yaml's kafka
    // connection); without it, Kafka sinks are refused at load with the reason.
    observe::MonitorConfig monitoring;
    observe::MonitorSinks::KafkaFactory monitoring_kafka;
    // Spans of the calls received (docs/tracing.md); null: tracing off.
    std::shared_ptr<observe::Tracer> tracer;
  };

  // Fails only when the repository is not a readable directory.
  static core::Result<std::unique_ptr<Server>> Create(const Options& options);
  ~Server() override;

  ServerMetadata Metadata() const;
  bool IsLive() const { return true; }
  // Null when tracing is off. Streams trace their events' calls with it (runtime/tracing.h).
  observe::Tracer* tracer() const { return options_.tracer.get(); }
  bool IsReady() const { return NotReadyReason().empty(); }
  // Why the server is not ready (still loading, shutting down, a required stream stopped), or
  // empty when it is.
  std::string NotReadyReason() const;
  // Blocks until the startup loads are done or `timeout` passes; returns IsReady(). For tests
  // and embedders that want to serve only once loaded.
  bool WaitUntilReady(std::chrono::milliseconds timeout) const;

  // Marks the server not ready (health probes fail) ahead of shutdown; serving continues.
  void BeginShutdown() { shutting_down_.store(true, std::memory_order_relaxed); }

  // The servable answering for `name` at `version` (0: the latest ready one): NotFound for an
  // unknown model or version, Unavailable when it cannot serve now. The handle pins that version.
  core::Result<routing::ServableHandle> Resolve(std::string_view name, std::int64_t version) const override;
  // Why a request for `name` at `version` that could not be decoded fails: NotFound when there is
  // no such model or version (the model is checked before the body, as Triton does), else
  // `error`. Only on the error path: a decoded request finds its model in Infer.
  core::Error RequestError(std::string_view name, std::int64_t version, core::Error error) const;
  // What `name` routes to: the serving version's targets, or those its router configuration
  // names when it does not serve (for cycle checks of routers waiting for their targets).
  std::vector<std::string> TargetsOf(std::string_view name) const override;

  // `version` 0 means the model as a whole (the latest served version's signature).
  core::Result<ModelMetadata> GetModelMetadata(std::string_view name, std::int64_t version) const;
  // NotFound for an unknown model or version; false when it exists but cannot serve (a router:
  // when the routes it needs cannot).
  core::Result<bool> IsModelReady(std::string_view name, std::int64_t version) const;
  std::vector<ModelStatus> RepositoryIndex() const;
  // Every loaded version's state, from memory (ModelControl::VersionStates).
  std::vector<ModelStatus> VersionStates() const;
  // The repository extension (explicit model control only); `done` runs on the loader thread.
  void LoadModel(std::string name, LoadRequest request, ModelControl::Done done);
  void UnloadModel(std::string name, ModelControl::Done done);
  // Loads or reloads a model from its folder in any control mode (models received over Kafka).
  void RefreshModel(std::string name, ModelControl::Done done) { control_.Refresh(std::move(name), std::move(done)); }
  core::Result<ModelConfiguration> GetModelConfig(std::string_view name, std::int64_t version) const;
  // `name` empty: every ready version of every model. `version` 0: every ready version of `name`.
  core::Result<std::vector<VersionStatistics>> GetStatistics(std::string_view name, std::int64_t version) const;
  // Every servable that serves now (the ready versions), for metrics.
  std::vector<routing::ServableHandle> ServingVersions() const;
  // Each serving version's figures over the last second or so (GET /v2/figures; live_figures.h).
  FiguresReport LiveFiguresReport() const;

  // Tensors in, tensors out, through whatever answers for request.model_name. `context` (request
  // headers, a stream event's key) is read by routers before Infer returns.
  void Infer(core::InferenceRequest&& request, const routing::CallContext& context, routing::InferDone done);
  void Infer(core::InferenceRequest&& request, routing::InferDone done) {
    Infer(std::move(request), routing::CallContext::None(), std::move(done));
  }
  // Records in, one outcome a record out (POST /v2/models/{m}/predict). `done` runs once, on any thread.
  void Predict(std::string_view name, std::int64_t version, std::vector<core::Record> records,
               const routing::CallContext& context, routing::PredictDone done);

  // A model's operation besides inference (a Python model's explain and op_<name>), JSON in and
  // out, run on the operations thread; `done` runs there.
  void CallOperation(std::string_view name, std::int64_t version, std::string operation, std::string body,
                     OperationDone done);

  // Whether the model answers POST .../explain itself: a Python model's explain hook, an operation.
  bool HasOwnExplain(std::string_view name, std::int64_t version) const;
  // Feature contributions of a request's rows (docs/explain.md), computed on an explanation
  // thread (Options::explain_threads of them); `done` runs there.
  using ExplainDone = std::move_only_function<void(core::Result<core::Explanation>)>;
  void Explain(core::InferenceRequest&& request, ExplainDone done);
  // The same for records (a pipeline's, by record field), and whether the model takes records.
  bool TakesRecords(std::string_view name, std::int64_t version) const;
  void ExplainRecords(std::string_view name, std::int64_t version, std::vector<core::Record> records,
                      ExplainDone done);

  // Routers: their routes and state, weights set at run time, and bandit feedback.
  core::Result<routing::RoutingState> GetRouting(std::string_view name) const;
  core::Result<void> SetWeights(std::string_view name, const std::vector<std::pair<std::string, double>>& weights);
  core::Result<std::vector<routing::FeedbackResult>> ApplyFeedback(std::string_view name,
                                                                   const std::vector<routing::Feedback>& feedback);

  // The monitoring streams of the serving versions (GET /v2/monitoring), and a model's sampling
  // rate changed while it serves (PUT /v2/models/{m}/monitoring): NotFound for an unknown model,
  // InvalidArgument when none of its versions is monitored or `rate` is not in [0, 1].
  // `name` empty: every model's.
  std::vector<MonitoringStatus> MonitoringReport(std::string_view name = {}) const;
  core::Result<std::size_t> SetMonitoringRate(std::string_view name, double rate);

  // Metrics of other parts of the process (Kafka streams) for /metrics: `render` appends
  // Prometheus text, from any thread, for as long as the server lives.
  void AddMetricsSource(std::function<void(std::string& out)> render);
  void RenderMetricsSources(std::string& out) const;

  // Streams beside the models (Kafka): a source appends its streams' status as JSON objects
  // (GET /v2/streams) and says why they keep the server from being ready, or nothing.
  struct StreamSource {
    std::function<void(std::vector<std::string>& objects)> status;
    std::function<std::string()> not_ready;
  };
  void AddStreamSource(StreamSource source);
  std::vector<std::string> StreamStatus() const;

 private:
  explicit Server(const Options& options);
  // Runs `explain` on an explanation thread, answering `done` there.
  void Explaining(ExplainDone done, std::move_only_function<core::Result<core::Explanation>()> explain);

  const Options options_;
  ModelTable table_;      // thread-safe itself
  routing::Timer timer_;  // thread-safe itself; ensembles' member timeouts

  // Read by health probes on I/O threads, written by the loader and at shutdown.
  std::atomic<bool> started_{false};
  std::atomic<bool> shutting_down_{false};
  mutable std::mutex started_mutex_;
  mutable std::condition_variable started_cv_;

  mutable std::mutex metrics_mutex_;
  std::vector<std::function<void(std::string&)>> metrics_sources_;  // protected by metrics_mutex_
  std::vector<StreamSource> stream_sources_;                        // protected by metrics_mutex_
  std::unique_ptr<LiveFigures> live_figures_;  // thread-safe itself
  TaskQueue explanations_;  // Options::explain_threads workers
  TaskQueue operations_{256};
  observe::MonitorSinks monitor_sinks_;  // before control_: the versions it builds write to them
  ModelControl control_;  // last: its threads stop first
};

}  // namespace ferry::runtime
