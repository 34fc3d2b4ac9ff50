#include "routing/model_servable.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>

#include "observe/metric_set.h"
#include "routing/request_validation.h"

namespace ferry::routing {

ModelServable::ModelServable(Options options)
    : Servable(std::move(options.name), options.version),
      backend_(std::move(options.backend)),
      signature_(std::move(options.signature)),
      max_batch_size_(options.max_batch_size),
      labels_(std::move(options.labels)),
      feature_names_(std::move(options.feature_names)),
      explain_reference_(std::move(options.explain_reference)),
      kernel_shap_(std::move(options.kernel_shap)),
      model_(std::move(options.model)),
      scheduler_(std::move(options.scheduler)) {}

ModelServable::~ModelServable() { scheduler_.reset(); }

// Inputs in signature order, so that requests naming them in another order still batch together.
void ModelServable::InSignatureOrder(core::InferenceRequest& request) const {
  const auto& specs = signature_.inputs;
  std::sort(request.inputs.begin(), request.inputs.end(), [&](const core::Tensor& a, const core::Tensor& b) {
    auto index = [&](const core::Tensor& t) {
      return std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == t.name(); }) - specs.begin();
    };
    return index(a) < index(b);
  });
}

void ModelServable::Infer(core::InferenceRequest&& request, const CallContext& context, InferDone done) const {
  const bool counted = !context.Explaining();
  auto outputs = ValidateRequest(request.model_name, signature_, max_batch_size_, request);
  auto classification = outputs ? ClassificationRequests(request, signature_)
                                : core::Result<std::vector<ClassificationRequest>>(std::unexpected(outputs.error()));
  if (!classification) {
    if (counted) scheduler_->statistics().RecordFailure(std::chrono::nanoseconds(0));
    return done(std::unexpected(std::move(classification).error()));
  }
  if (!classification->empty()) {
    done = [this, wanted = std::move(*classification), inner = std::move(done)](
               core::Result<core::InferenceResponse> result) mutable {
      if (result) {
        if (auto classified = Classify(*result, wanted, max_batch_size_ > 0, labels_); !classified) {
          return inner(std::unexpected(std::move(classified).error()));
        }
      }
      inner(std::move(result));
    };
  }
  InSignatureOrder(request);
  sched::Scheduler::Job job{.request = std::move(request), .outputs = std::move(*outputs), .done = std::move(done)};
  job.counted = counted;
  if (auto queued = scheduler_->Submit(std::move(job)); !queued) {
    if (counted) scheduler_->statistics().RecordFailure(std::chrono::nanoseconds(0));
    job.done(std::unexpected(std::move(queued).error()));
  }
}

core::Result<core::Explanation> ModelServable::Explain(core::InferenceRequest&& request) const {
  const auto start = std::chrono::steady_clock::now();
  auto explanation = Contributions(std::move(request));
  const auto took = std::chrono::steady_clock::now() - start;
  explain_ns_.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
  scheduler_->statistics().RecordExplanation(took, explanation ? static_cast<std::uint64_t>(explanation->rows) : 0,
                                             explanation.has_value());
  (explanation ? explained_ : explain_failed_).fetch_add(1, std::memory_order_relaxed);
  if (explanation) {
    explanation->model = name();
    explanation->version = version();
  }
  return explanation;
}

void ModelServable::CollectMetrics(observe::MetricSet& set) const {
  const std::string v = std::to_string(version());
  constexpr std::string_view kHelp = "Explanations answered (POST .../explain, gRPC ferry_explain), by outcome";
  set.Counter("ferry_explanations_total", kHelp, {{"model", name()}, {"version", v}, {"outcome", "ok"}},
              static_cast<double>(explained_.load(std::memory_order_relaxed)));
  set.Counter("ferry_explanations_total", kHelp, {{"model", name()}, {"version", v}, {"outcome", "error"}},
              static_cast<double>(explain_failed_.load(std::memory_order_relaxed)));
  set.Counter("ferry_explanation_seconds_total", "Time spent computing explanations",
              {{"model", name()}, {"version", v}}, static_cast<double>(explain_ns_.load(std::memory_order_relaxed)) / 1e9);
}

core::Result<core::Explanation> ModelServable::Contributions(core::InferenceRequest&& request) const {
  FERRY_RETURN_IF_ERROR(ValidateRequest(request.model_name, signature_, max_batch_size_, request));
  InSignatureOrder(request);
  if (!model_->ExplainsExactly()) {
    if (request.parameters.contains("interactions")) {
      return core::InvalidArgument(fmt::format("model '{}' has no exact explainer; interaction values are computed "
                                               "for XGBoost models", name()));
    }
    // Model-agnostic: KernelSHAP through this model's own scheduler; `samples` and `seed` may come
    // with the request.
    KernelShapOptions options = kernel_shap_;
    for (auto [key, into] : {std::pair{"samples", &options.samples}, std::pair{"seed", &options.seed}}) {
      const auto it = request.parameters.find(key);
      if (it == request.parameters.end()) continue;
      const auto* v = std::get_if<std::int64_t>(&it->second);
      if (!v || *v < 0) return core::InvalidArgument(fmt::format("parameter '{}' must be an integer >= 0", key));
      *into = static_cast<std::uint64_t>(*v);
    }
    if (options.feature_names.empty()) options.feature_names = feature_names_;
    options.batch_rows = max_batch_size_ > 0 ? max_batch_size_ : 256;
    return KernelShap(*this, signature_, request, options);
  }
  bool interactions = false;
  if (auto it = request.parameters.find("interactions"); it != request.parameters.end()) {
    const auto* asked = std::get_if<bool>(&it->second);
    if (!asked) return core::InvalidArgument("parameter 'interactions' must be true or false");
    interactions = *asked;
  }
  FERRY_ASSIGN_OR_RETURN(core::Explanation explanation,
                         interactions ? model_->ExplainInteractions(request.inputs) : model_->Explain(request.inputs));
  if (!feature_names_.empty()) {
    if (feature_names_.size() != explanation.features.size()) {
      return core::Internal(fmt::format("model '{}': feature_names names {} features, its input has {} columns", name(),
                                        feature_names_.size(), explanation.features.size()));
    }
    explanation.features = feature_names_;
  }
  if (!explain_reference_.empty() && explanation.method == "linear") {
    // Against the background's mean m: w * (x - m) = w * x - w * m, the base value moving by w * m.
    const std::size_t width = explanation.features.size();
    if (signature_.inputs.size() != 1) {
      return core::InvalidArgument(fmt::format("model '{}': explain.rows give a reference for one 2-D input; this "
                                               "model takes {} inputs", name(), signature_.inputs.size()));
    }
    if (explain_reference_.size() != width) {
      return core::Internal(fmt::format("model '{}': explain.rows have {} numbers, its input has {} columns", name(),
                                        explain_reference_.size(), width));
    }
    const auto& spec = signature_.inputs.front();
    FERRY_ASSIGN_OR_RETURN(auto reference, core::Tensor::Allocate(spec.name, spec.type,
                                                                  core::Shape{1, static_cast<std::int64_t>(width)}));
    for (std::size_t j = 0; j < width; ++j) {
      if (spec.type == core::DataType::kFp64) {
        reference.values<double>()[j] = explain_reference_[j];
      } else {
        reference.values<float>()[j] = static_cast<float>(explain_reference_[j]);
      }
    }
    FERRY_ASSIGN_OR_RETURN(const core::Explanation at_reference, model_->Explain(std::span(&reference, 1)));
    for (std::size_t o = 0; o < explanation.outputs.size(); ++o) {
      auto& out = explanation.outputs[o];
      const auto& ref = at_reference.outputs[o].values;
      double shift = 0;
      for (std::size_t j = 0; j < width; ++j) shift += ref[j];
      for (std::int64_t r = 0; r < explanation.rows; ++r) {
        out.base[static_cast<std::size_t>(r)] += shift;
        for (std::size_t j = 0; j < width; ++j) out.values[static_cast<std::size_t>(r) * width + j] -= ref[j];
      }
    }
  }
  return explanation;
}

core::Result<std::string> ModelServable::Call(std::string_view operation, std::string_view body) const {
  return model_->Call(operation, body);
}

}  // namespace ferry::routing
