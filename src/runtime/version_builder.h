// Building one servable model version: load it through its backend, create its instances, warm
// them up (model.yaml `warmup`), and put them behind a scheduler. Blocking and possibly slow: run
// it on a loader thread, never on a serving one. Never fails as a call: a version that cannot
// serve comes back UNAVAILABLE with its reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>

#include "backends/backend_registry.h"
#include "model/model_config.h"
#include "runtime/served_model.h"

namespace ferry::runtime {

// Decodes a KServe V2 JSON request (for warm-up sample files); the frontend's codec, handed down
// so that the runtime does not depend on a frontend.
using RequestDecoder = std::function<core::Result<core::InferenceRequest>(std::string_view json)>;

std::shared_ptr<ServedVersion> BuildVersion(const backends::BackendRegistry& registry, const model::ModelConfig& config,
                                            const std::filesystem::path& model_dir, std::int64_t version,
                                            std::uint64_t fingerprint, std::uint64_t config_fingerprint,
                                            const RequestDecoder& decoder);

// A pipeline's one version (it has no version folders: its steps are in model.yaml).
std::shared_ptr<ServedVersion> BuildPipelineVersion(const model::ModelConfig& config, std::uint64_t config_fingerprint);

}  // namespace ferry::runtime
