// Ensemble: a router that sends each call to every member at once (each through its own
// scheduler) and combines their answers of one output (aggregate.h): a vote for classes, a
// (weighted) mean or median for numbers. Members that fail, or have not answered within
// member_timeout, are left out; the answer names the members that took part (ferry-ensemble).
// Fewer than `quorum` answers fail the call, naming the members that failed and why. Each member
// is asked only for the aggregated output; the answer carries the aggregate (and, for soft_vote,
// the winning class). Records (Predict) are combined record by record on the answer field of that
// name; the rest of a record's answer is the first answering member's.
// Thread safety: as every Servable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "routing/router_config.h"
#include "routing/router_metrics.h"
#include "routing/servable.h"
#include "routing/target_set.h"
#include "routing/timer.h"

namespace ferry::routing {

class Ensemble final : public Servable {
 public:
  struct Options {
    std::string name;
    std::int64_t version = 1;
    EnsembleConfig config;
    const Resolver* resolver = nullptr;  // must outlive the ensemble
    Timer* timer = nullptr;              // must outlive the ensemble
    const Ensemble* previous = nullptr;  // the version it replaces: its counters are kept when the members are the same
  };
  explicit Ensemble(Options options);

  std::string_view platform() const override { return "ferry_ensemble"; }
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
  // A (weighted) mean of its members' answers is explained by the same mean of their
  // explanations (SHAP values are linear in the model): every member must explain the row in the
  // same space, with the same features. Votes and medians are not explained.
  core::Result<core::Explanation> Explain(core::InferenceRequest&& request) const override;

 private:
  template <typename Answer>
  struct Call;  // one call's state (ensemble.cc)

  // Starts the members' calls: `send(member, servable)` sends one; answers go to `call`.
  template <typename Answer, typename Send>
  void Start(const std::shared_ptr<Call<Answer>>& call, Send&& send) const;
  template <typename Answer>
  void Answered(const std::shared_ptr<Call<Answer>>& call, std::size_t member, core::Result<Answer> answer) const;
  template <typename Answer>
  void Finish(const std::shared_ptr<Call<Answer>>& call) const;
  // Fewer than quorum: the error that says who failed and why.
  core::Error BelowQuorum(const std::vector<std::string>& failures, std::size_t answered,
                          bool all_invalid, const core::Error* first) const;

  // Constant after construction.
  const EnsembleConfig config_;
  const TargetSet members_;
  Timer* const timer_;
  std::shared_ptr<RouterCounters> counters_;
  mutable sched::Statistics statistics_;  // thread-safe itself
};

}  // namespace ferry::routing
