// Servable: one version of something that answers requests -- a model behind its scheduler
// (ModelServable), a pipeline (PipelineServable), or a router over other servables (Router,
// Ensemble). Frontends and streams never ask which kind they hold: they resolve a name to a
// handle and call it.
//
// Lifecycle: a servable is built by the loader (runtime::ModelControl), is immutable once built,
// and is shared: a ServableHandle (a shared_ptr) pins one version for a whole call, so a reload
// that swaps in a new version never pulls it out from under a request in flight. The loader frees
// a retired version once no handle holds it; servables that answer later than Infer returns pin
// themselves (shared_from_this) until they do, except a model, whose destruction runs its queue.
//
// Thread safety: every method may be called from any thread, concurrently. Infer and Predict
// never block on inference: they queue and return; `done` runs exactly once, later on a worker
// thread, or at once on the calling thread when the call is refused before it is queued. A
// router decides where a call goes before Infer/Predict returns, so the CallContext it reads
// need only live until then.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/call_trace.h"
#include "core/error.h"
#include "core/explanation.h"
#include "core/inference.h"
#include "core/record.h"
#include "observe/metric_set.h"
#include "observe/monitor.h"
#include "routing/predictions.h"
#include "scheduler/statistics.h"

namespace ferry::routing {

class Servable;
using ServableHandle = std::shared_ptr<const Servable>;

// What a router may decide on besides the request itself: its headers (HTTP headers, gRPC
// metadata, Kafka headers) and, for a stream event, its key. Names are asked in lower case.
class CallContext {
 public:
  virtual ~CallContext() = default;
  virtual std::optional<std::string_view> Header(std::string_view /*lower_case_name*/) const { return std::nullopt; }
  virtual std::optional<std::string_view> Key() const { return std::nullopt; }
  // The transport the call came over, as monitoring records name it: http, grpc, kafka, mqtt,
  // in-process.
  virtual std::string_view Protocol() const { return "in-process"; }
  // An explainer's own evaluation (KernelSHAP's coalitions): not a request of its own in the
  // model's statistics (the explanation is counted as one).
  virtual bool Explaining() const { return false; }
  // Where the call's parts record themselves when the call is traced (core/call_trace.h); null
  // when it is not.
  virtual std::shared_ptr<core::CallTrace> Trace() const { return nullptr; }
  // A context with nothing in it.
  static const CallContext& None();
  // The context of an explainer's evaluations.
  static const CallContext& Explainer();
};

using InferDone = std::move_only_function<void(core::Result<core::InferenceResponse>)>;
using PredictDone = std::move_only_function<void(core::Result<Predictions>)>;

// GET /v2/models/{r}/routing: a router's routes and their state (empty for other servables).
struct RouteState {
  std::string name;
  std::string target;
  double weight = 0;         // split share (normalised), ensemble weight
  bool ready = false;        // whether the target serves now
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  // Bandits: pulls (rows sent), rewarded rows, mean reward, the Beta posterior, and the
  // probability that this arm is the best one (Monte Carlo over the posteriors).
  std::uint64_t pulls = 0;
  std::uint64_t rewarded = 0;
  double mean_reward = 0;
  double alpha = 0, beta = 0;
  double probability_best = 0;
};
struct RoutingState {
  std::string kind;    // split | bandit | ensemble
  std::string policy;  // bandits: epsilon_greedy | thompson | ucb1
  std::vector<RouteState> routes;
  std::vector<std::string> shadows;  // shadow targets
};

// Feedback on a bandit's decision (POST /v2/models/{r}/feedback): one reward for every row of
// the decision, or one reward a row.
struct Feedback {
  std::string decision_id;
  std::optional<double> reward;
  std::vector<double> rewards;
};
struct FeedbackResult {
  // kInvalid: the rewards do not fit the decision (count, or a value outside [0, 1]).
  enum class Outcome { kApplied, kUnknown, kExpired, kDuplicate, kInvalid };
  Outcome outcome = Outcome::kUnknown;
  std::string decision_id;
  std::string route;        // the arm it was credited to (applied or duplicate)
  std::size_t rows = 0;     // rewards applied
  std::string detail;       // why it was not applied
};
std::string_view FeedbackOutcomeName(FeedbackResult::Outcome outcome);

class Servable : public std::enable_shared_from_this<Servable> {
 public:
  Servable(std::string name, std::int64_t version) : name_(std::move(name)), version_(version) {}
  virtual ~Servable() = default;
  Servable(const Servable&) = delete;
  Servable& operator=(const Servable&) = delete;

  const std::string& name() const { return name_; }
  std::int64_t version() const { return version_; }

  // The KServe `platform` ("onnxruntime_onnx", "ferry_pipeline", "ferry_router") and the backend
  // name of the model configuration ("onnxruntime", "pipeline", "router").
  virtual std::string_view platform() const = 0;
  virtual std::string_view backend() const = 0;
  // What Infer takes and answers. For pipelines and routers it depends on the servables they call
  // as they serve now, so it is computed on each call.
  virtual core::ModelSignature Signature() const = 0;
  // Rows a tensor request may carry (0: no batch dimension), as a pipeline's model step needs it.
  virtual std::int64_t max_batch_size() const { return 0; }
  // Whether Predict takes records, and their fields (for metadata).
  virtual bool TakesRecords() const { return false; }
  virtual std::vector<core::RecordField> RecordFields() const { return {}; }
  // Whether calls can be answered now: a router is ready when the routes it needs are.
  virtual bool Ready() const { return true; }
  // The servables this one calls by name (routes, members, shadows): for cycle checks at load.
  virtual std::vector<std::string> Targets() const { return {}; }

  // Tensors in, tensors out.
  virtual void Infer(core::InferenceRequest&& request, const CallContext& context, InferDone done) const = 0;
  // Records in (POST /v2/models/{m}/predict, stream events), one outcome a record out.
  // `contexts` holds one context for all the records, or one a record (stream events).
  virtual void Predict(std::vector<core::Record> records, std::span<const CallContext* const> contexts,
                       PredictDone done) const;

  // The servable's own statistics (a model's are its scheduler's), and requests waiting now.
  virtual sched::Statistics& statistics() const = 0;
  virtual std::size_t queue_depth() const { return 0; }
  // Metrics besides the statistics every servable has (a router's routes, shadows, bandit).
  virtual void CollectMetrics(observe::MetricSet& /*set*/) const {}

  // Operations besides inference (a Python model's explain and op_<name>), JSON in and out;
  // Call may be slow: the runtime runs it off the I/O threads.
  virtual std::vector<std::string> Operations() const { return {}; }
  virtual core::Result<std::string> Call(std::string_view operation, std::string_view body) const;

  // Feature contributions of a request's rows (POST /v2/models/{m}/explain, docs/explain.md):
  // exact for models whose backend allows it; Unimplemented naming the servable otherwise. May be
  // slow: the runtime runs it off the I/O threads.
  virtual core::Result<core::Explanation> Explain(core::InferenceRequest&& request) const;
  // The same for records (a pipeline's /explain with the /predict body): contributions by record
  // field. Unimplemented for servables that do not take records.
  virtual core::Result<core::Explanation> ExplainRecords(std::vector<core::Record> records) const;

  // The monitoring stream recording calls to this version (docs/monitoring.md), or null. Set by
  // the loader before the servable is shared; read by the runtime around the calls it receives
  // (not around a router's calls to its routes).
  const std::shared_ptr<observe::Monitor>& monitor() const { return monitor_; }
  void SetMonitor(std::shared_ptr<observe::Monitor> monitor) { monitor_ = std::move(monitor); }

  // Routers only (others answer NotFound naming the model).
  virtual core::Result<RoutingState> Routing() const;
  // Sets split weights by route name, atomically; routes not named keep theirs.
  virtual core::Result<void> SetWeights(const std::vector<std::pair<std::string, double>>& weights) const;
  virtual core::Result<std::vector<FeedbackResult>> ApplyFeedback(const std::vector<Feedback>& feedback) const;

 private:
  const std::string name_;
  const std::int64_t version_;
  std::shared_ptr<observe::Monitor> monitor_;
};

// How routers and pipelines reach the servables they call: the runtime's table of servables.
// Resolve may be called from any thread.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // The version serving `name` at `version` (0: the latest ready one); NotFound for an unknown
  // model or version, Unavailable when it cannot serve now.
  virtual core::Result<ServableHandle> Resolve(std::string_view name, std::int64_t version) const = 0;
  // The names `name` calls (a router's routes, a pipeline's models), whether or not it serves
  // now, for cycle checks. The default: those of the version serving, if any.
  virtual std::vector<std::string> TargetsOf(std::string_view name) const;
};

}  // namespace ferry::routing
