// What the runtime serves: a model and its versions, each version a loaded backend model behind
// its scheduler. A ServedModel is immutable once installed in the ModelTable: a reload builds a
// new one (reusing unchanged versions) and swaps it in, so readers never see one half-changed.
// A ServedVersion is shared: requests pin it (shared_ptr) while they are handed to its scheduler.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "model/model_config.h"
#include "model/model_loader.h"
#include "pipeline/pipeline.h"
#include "scheduler/scheduler.h"
#include "scheduler/statistics.h"

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

// The scheduler is declared after the model so that it is destroyed first: its instances borrow
// the model. Destroying a version runs what its queue holds, then frees the model.
struct ServedVersion {
  std::string name;
  std::int64_t version = 0;
  std::int64_t max_batch_size = 0;
  ModelState state = ModelState::kUnavailable;
  std::string reason;              // why it is UNAVAILABLE
  std::uint64_t fingerprint = 0;   // of the version folder's files when it was loaded
  std::uint64_t config_fingerprint = 0;
  model::LoadedVersion loaded;
  std::unique_ptr<sched::Scheduler> scheduler;
  // A pipeline (model.yaml `pipeline:`) has steps instead of a model and a scheduler; its
  // requests are counted in its own statistics.
  std::shared_ptr<const pipeline::Pipeline> pipeline;
  std::unique_ptr<sched::Statistics> pipeline_statistics;

  sched::Statistics& statistics() const {
    return pipeline ? *pipeline_statistics : scheduler->statistics();
  }
  std::size_t queue_depth() const { return pipeline ? 0 : scheduler->queue_depth(); }
  std::string_view platform() const { return pipeline ? "ferry_pipeline" : loaded.model->platform(); }
};

struct ServedModel {
  std::string name;
  model::ModelConfig config;
  std::string error;  // the last load's model-level failure (bad model.yaml, no version); informational
  std::map<std::int64_t, std::shared_ptr<ServedVersion>> versions;

  bool HasReadyVersion() const {
    for (const auto& [n, v] : versions) {
      if (v->state == ModelState::kReady) return true;
    }
    return false;
  }
};

}  // namespace ferry::runtime
