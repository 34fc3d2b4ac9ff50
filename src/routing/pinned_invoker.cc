#include "routing/pinned_invoker.h"

namespace ferry::routing {

core::Result<ServableHandle> PinnedInvoker::Pin(std::string_view name, std::int64_t version) const {
  {
    std::lock_guard lock(mutex_);
    for (const auto& p : pinned_) {
      if (p.name == name && p.version == version) return p.servable;
    }
  }
  FERRY_ASSIGN_OR_RETURN(auto servable, resolver_.Resolve(name, version));
  std::lock_guard lock(mutex_);
  for (const auto& p : pinned_) {
    if (p.name == name && p.version == version) return p.servable;  // another thread pinned it first
  }
  pinned_.push_back({std::string(name), version, servable});
  return servable;
}

core::Result<pipeline::ModelInfo> PinnedInvoker::Describe(std::string_view model, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto servable, Pin(model, version));
  return pipeline::ModelInfo{.max_batch_size = servable->max_batch_size(), .signature = servable->Signature()};
}

void PinnedInvoker::Infer(core::InferenceRequest&& request, pipeline::InferDone done) {
  auto servable = Pin(request.model_name, request.model_version);
  if (!servable) return done(std::unexpected(std::move(servable).error()));
  (*servable)->Infer(std::move(request), CallContext::None(), std::move(done));
}

}  // namespace ferry::routing
