// Router: a servable that sends each call to one of its routes (docs/routing.md). Which one:
//   1. a `ferry-route: NAME` header (or the configured override header), when allowed: override;
//   2. a bandit's decision (explore / exploit), with a decision id for feedback;
//   3. a sticky key's hash (header:NAME, parameter:NAME, field:NAME, kafka_key): sticky;
//   4. otherwise a random draw: weighted.
// Weights are normalised into integer ranges (split.h); PUT /v2/models/{r}/routing swaps in a new
// table atomically, without a reload. A call that fails for a reason the fallback catches
// (unavailable, queue_full, timeout) is sent again to the fallback route (a router with a
// fallback keeps a copy of each call's input until it is answered). Shadows get copies once the
// client has its answer, and never change it. Every answer names the servable that computed it and why (RouteInfo);
// Predict with one context a record (stream events) decides for each record.
//
// Ownership and lifetime: routes are resolved by name at each call, so a route follows its
// target's reloads; a call pins the router (shared_from_this) until answered. The bandit and the
// counters are shared with the version this one replaced when the routes are the same.
// Thread safety: as every Servable; the request path takes no lock but the bandit's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "routing/bandit.h"
#include "routing/router_config.h"
#include "routing/router_metrics.h"
#include "routing/servable.h"
#include "routing/shadow.h"
#include "routing/split.h"
#include "routing/target_set.h"
#include "routing/timer.h"

namespace ferry::routing {

class Router final : public Servable {
 public:
  struct Options {
    std::string name;
    std::int64_t version = 1;
    RouterConfig config;  // with routes (an ensemble is an Ensemble)
    const Resolver* resolver = nullptr;  // must outlive the router
    Timer* timer = nullptr;              // must outlive the router (bandit state saves)
    const Router* previous = nullptr;    // the version it replaces, if any
  };
  explicit Router(Options options);

  std::string_view platform() const override { return "ferry_router"; }
  std::string_view backend() const override { return "router"; }
  core::ModelSignature Signature() const override;
  std::int64_t max_batch_size() const override;
  bool TakesRecords() const override;
  std::vector<core::RecordField> RecordFields() const override;
  bool Ready() const override;
  std::vector<std::string> Targets() const override;

  void Infer(core::InferenceRequest&& request, const CallContext& context, InferDone done) const override;
  void Predict(std::vector<core::Record> records, std::span<const CallContext* const> contexts,
               PredictDone done) const override;

  sched::Statistics& statistics() const override { return statistics_; }
  void CollectMetrics(observe::MetricSet& set) const override;
  core::Result<RoutingState> Routing() const override;
  core::Result<void> SetWeights(const std::vector<std::pair<std::string, double>>& weights) const override;
  core::Result<std::vector<FeedbackResult>> ApplyFeedback(const std::vector<Feedback>& feedback) const override;
  // The explanation of the route the call would take (or the route `parameters.route` names; a
  // bandit's calls must name one): its target's own explanation, the route named in it.
  core::Result<core::Explanation> Explain(core::InferenceRequest&& request) const override;
  core::Result<core::Explanation> ExplainRecords(std::vector<core::Record> records) const override;

 private:
  struct Choice {
    std::size_t route = 0;
    Reason reason = Reason::kWeighted;
    std::string decision_id;
  };
  struct Call;  // one call's state (router.cc)

  // The route for a call of `rows` rows; `parameters` (tensors) or `record` (records) may carry
  // the sticky key.
  core::Result<Choice> Choose(const CallContext& context, const core::Parameters* parameters,
                              const core::Record* record, std::size_t rows) const;
  // Choose, recorded as a `route <router>` step when the call is traced.
  core::Result<Choice> TracedChoice(const CallContext& context, const core::Parameters* parameters,
                                    const core::Record* record, std::size_t rows) const;
  // The servable of a choice's route, or why it cannot serve (naming the router and the route).
  core::Result<ServableHandle> ResolveRoute(const Choice& choice) const;
  // Sends the call to the route of call->choice.
  void Dispatch(std::shared_ptr<Call> call, core::InferenceRequest&& request, const CallContext& context) const;
  void DispatchRecords(std::shared_ptr<Call> call, std::vector<core::Record> records,
                       const CallContext& context) const;
  // The call's route answered with `error` (or could not be reached): true when it was sent to
  // the fallback route instead; false when the caller must fail the call.
  bool FallBack(const std::shared_ptr<Call>& call, const core::Error& error) const;
  bool Needed(std::size_t route) const;  // a route calls may go to
  // The route an explanation takes: `named` (parameters.route), else as Choose decides.
  core::Result<Choice> ExplainedRoute(const std::string* named, const core::Parameters* parameters,
                                      const core::Record* record, std::size_t rows) const;

  // Constant after construction.
  const RouterConfig config_;
  const Resolver& resolver_;
  const TargetSet routes_;
  std::optional<std::size_t> fallback_route_;
  std::shared_ptr<RouterCounters> counters_;
  std::shared_ptr<Bandit> bandit_;  // null without `bandit`
  std::unique_ptr<Shadows> shadows_;  // null without shadows
  mutable sched::Statistics statistics_;  // thread-safe itself

  // The split: readers load the pointer; SetWeights installs a new table under mutex_. Tables
  // are kept until the router goes, so a reader's pointer stays valid.
  mutable std::atomic<const SplitTable*> split_{nullptr};
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<const SplitTable>> tables_;  // protected by mutex_
};

}  // namespace ferry::routing
