#include "routing/servable.h"

#include <fmt/format.h>

namespace ferry::routing {

const CallContext& CallContext::None() {
  static const CallContext kNone;
  return kNone;
}

const CallContext& CallContext::Explainer() {
  class ExplainerContext final : public CallContext {
   public:
    bool Explaining() const override { return true; }
  };
  static const ExplainerContext kExplainer;
  return kExplainer;
}

std::string_view FeedbackOutcomeName(FeedbackResult::Outcome outcome) {
  switch (outcome) {
    case FeedbackResult::Outcome::kApplied: return "applied";
    case FeedbackResult::Outcome::kUnknown: return "unknown";
    case FeedbackResult::Outcome::kExpired: return "expired";
    case FeedbackResult::Outcome::kDuplicate: return "duplicate";
    case FeedbackResult::Outcome::kInvalid: return "invalid";
  }
  return "unknown";
}

void Servable::Predict(std::vector<core::Record>, std::span<const CallContext* const>, PredictDone done) const {
  done(core::InvalidArgument(fmt::format(
      "model '{}' is not a pipeline: /predict takes records for pipelines (model.yaml `pipeline:`) and routers over "
      "them; send tensors to /v2/models/{}/infer",
      name(), name())));
}

core::Result<std::string> Servable::Call(std::string_view operation, std::string_view) const {
  return core::NotFound(fmt::format("model '{}' has no operation '{}' (it has: none)", name(), operation));
}

core::Result<core::Explanation> Servable::Explain(core::InferenceRequest&&) const {
  return core::Unimplemented(fmt::format("model '{}' ({}) {}", name(), platform(),
                                         TakesRecords() ? "is explained by record: send its records, as to /predict"
                                                        : "has no explainer"));
}

core::Result<core::Explanation> Servable::ExplainRecords(std::vector<core::Record>) const {
  return core::Unimplemented(fmt::format("model '{}' ({}) does not take records: send a V2 request", name(),
                                         platform()));
}

core::Result<RoutingState> Servable::Routing() const {
  return core::NotFound(fmt::format("model '{}' is not a router (model.yaml `router:`)", name()));
}

core::Result<void> Servable::SetWeights(const std::vector<std::pair<std::string, double>>&) const {
  return core::NotFound(fmt::format("model '{}' is not a router (model.yaml `router:`)", name()));
}

core::Result<std::vector<FeedbackResult>> Servable::ApplyFeedback(const std::vector<Feedback>&) const {
  return core::NotFound(fmt::format("model '{}' is not a router with a bandit (model.yaml `router: {{bandit: ...}}`)",
                                    name()));
}

std::vector<std::string> Resolver::TargetsOf(std::string_view name) const {
  auto servable = Resolve(name, 0);
  return servable ? (*servable)->Targets() : std::vector<std::string>{};
}

}  // namespace ferry::routing
