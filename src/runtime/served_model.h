// What the runtime serves: a model and its versions. A ServedModel is immutable once installed
// in the ModelTable: a reload builds a new one (reusing unchanged versions) and swaps it in, so
// readers never see one half-changed. A ServedVersion is one version's load state, and, when it
// is READY, the servable that answers for it (a model, a pipeline or a router: routing/).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "model/model_config.h"
#include "routing/servable.h"

namespace ferry::runtime {

enum class ModelState { kReady, kUnavailable, kLoading };

// "READY", "UNAVAILABLE", "LOADING": the names of the repository index.
inline std::string_view ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kReady: return "READY";
    case ModelState::kLoading: return "LOADING";
    case ModelState::kUnavailable: return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

struct ServedVersion {
  std::int64_t version = 0;
  ModelState state = ModelState::kUnavailable;
  std::string reason;              // why it is UNAVAILABLE
  std::uint64_t fingerprint = 0;   // of the version folder's files when it was loaded
  std::uint64_t config_fingerprint = 0;
  routing::ServableHandle servable;  // set when READY
};

struct ServedModel {
  std::string name;
  model::ModelConfig config;
  std::string error;  // the last load's model-level failure (bad model.yaml, no version); informational
  std::map<std::int64_t, std::shared_ptr<const ServedVersion>> versions;

  bool HasReadyVersion() const {
    for (const auto& [n, v] : versions) {
      if (v->state == ModelState::kReady) return true;
    }
    return false;
  }
};

}  // namespace ferry::runtime
