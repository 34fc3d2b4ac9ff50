// ModelServable: one loaded model version behind its scheduler. Infer checks a request against
// the served signature (request_validation.h), puts its inputs in signature order (so requests
// that name them in another order still batch together) and queues it; the scheduler's workers
// run the backend's instances. Operations (a Python model's explain, op_<name>) go to the
// backend model directly. Outputs asked for with `classification: K` are answered as their top K
// classes (classification.h).
//
// Ownership: it owns the backend model and the scheduler whose instances borrow it; destruction
// runs what the queue holds, then frees the model. Thread safety: as every Servable.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "routing/classification.h"
#include "routing/kernel_shap.h"
#include "routing/servable.h"
#include "scheduler/scheduler.h"

namespace ferry::routing {

class ModelServable final : public Servable {
 public:
  struct Options {
    std::string name;
    std::int64_t version = 0;
    std::string backend;                             // the backend's name ("onnxruntime")
    std::unique_ptr<backends::BackendModel> model;
    core::ModelSignature signature;                  // what requests are checked against
    std::int64_t max_batch_size = 0;
    std::unique_ptr<sched::Scheduler> scheduler;     // runs instances of `model`
    ClassLabels labels;                              // outputs' class labels (classification extension)
    std::vector<std::string> feature_names;          // model.yaml feature_names (empty: the model's)
    std::vector<double> explain_reference;           // a linear explanation's reference (empty: zero)
    KernelShapOptions kernel_shap;                   // without an exact explainer (its background: explain.rows)
  };
  explicit ModelServable(Options options);
  ~ModelServable() override;

  std::string_view platform() const override { return model_->platform(); }
  std::string_view backend() const override { return backend_; }
  core::ModelSignature Signature() const override { return signature_; }
  std::int64_t max_batch_size() const override { return max_batch_size_; }

  void Infer(core::InferenceRequest&& request, const CallContext& context, InferDone done) const override;

  sched::Statistics& statistics() const override { return scheduler_->statistics(); }
  std::size_t queue_depth() const override { return scheduler_->queue_depth(); }
  std::vector<std::string> Operations() const override { return model_->operations(); }
  core::Result<std::string> Call(std::string_view operation, std::string_view body) const override;
  core::Result<core::Explanation> Explain(core::InferenceRequest&& request) const override;
  // ferry_explanations_total{model, version, outcome} and ferry_explanation_seconds_total: the
  // explanations it answered, counted apart from inferences.
  void CollectMetrics(observe::MetricSet& set) const override;

 private:
  // Constant after construction.
  const std::string backend_;
  const core::ModelSignature signature_;
  const std::int64_t max_batch_size_;
  void InSignatureOrder(core::InferenceRequest& request) const;
  core::Result<core::Explanation> Contributions(core::InferenceRequest&& request) const;

  const ClassLabels labels_;
  const std::vector<std::string> feature_names_;
  const std::vector<double> explain_reference_;
  const KernelShapOptions kernel_shap_;
  // Explanations answered and refused, and their time: updated from the operations thread.
  mutable std::atomic<std::uint64_t> explained_{0}, explain_failed_{0}, explain_ns_{0};
  std::unique_ptr<backends::BackendModel> model_;
  std::unique_ptr<sched::Scheduler> scheduler_;  // after model_: destroyed first
};

}  // namespace ferry::routing
