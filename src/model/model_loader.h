// Loading one model version: pick its backend (model.yaml `backend`, or detection from the version
// folder's files), load it, and settle its signature -- the model file's own, narrowed by what
// model.yaml declares. Blocking and possibly slow (reads and compiles a model): call it from a
// loading thread, never from a serving one. Stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "backends/backend_registry.h"
#include "core/error.h"
#include "model/model_config.h"

namespace ferry::model {

struct LoadedVersion {
  std::int64_t version = 0;
  std::string backend;                           // the backend's name
  std::unique_ptr<backends::BackendModel> model;
  core::ModelSignature signature;                // what clients see and requests are checked against
};

// Errors say what is wrong (file, key, tensor); the caller names the model and version.
core::Result<LoadedVersion> LoadVersion(const backends::BackendRegistry& registry, const ModelConfig& config,
                                        const std::filesystem::path& model_dir, std::int64_t version);

// The served signature: the model's own when model.yaml declares nothing; otherwise model.yaml's,
// each declared tensor checked against the model (name, datatype, compatible shape). Declared
// inputs must cover every model input; declared outputs may be a subset of the model's.
core::Result<core::ModelSignature> ResolveSignature(const ModelConfig& config, const core::ModelSignature& model);

}  // namespace ferry::model
