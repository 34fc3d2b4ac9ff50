// PinnedInvoker: how a pipeline reaches the servables its model steps name during one call. It
// resolves each (name, version) the first time a step asks and keeps that handle for the rest of
// the call, so every chunk of every step of one call runs on the same versions even if a reload
// swaps them meanwhile. Made for one call and shared by its continuations (shared_ptr); its
// methods may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/model_invoker.h"
#include "routing/servable.h"

namespace ferry::routing {

class PinnedInvoker final : public pipeline::ModelInvoker {
 public:
  explicit PinnedInvoker(const Resolver& resolver) : resolver_(resolver) {}

  core::Result<pipeline::ModelInfo> Describe(std::string_view model, std::int64_t version) const override;
  void Infer(core::InferenceRequest&& request, pipeline::InferDone done) override;

 private:
  core::Result<ServableHandle> Pin(std::string_view name, std::int64_t version) const;

  const Resolver& resolver_;
  struct Pinned {
    std::string name;
    std::int64_t version;
    ServableHandle servable;
  };
  mutable std::mutex mutex_;
  mutable std::vector<Pinned> pinned_;  // protected by mutex_; a few entries
};

}  // namespace ferry::routing
