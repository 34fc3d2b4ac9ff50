// Building one servable version: a model (load it through its backend, create its instances,
// warm them up -- model.yaml `warmup` -- and put them behind a scheduler), a pipeline (parse its
// steps) or a router (check its routes against what serves). Blocking and possibly slow: run it
// on a loader thread, never on a serving one. Never fails as a call: a version that cannot serve
// comes back UNAVAILABLE with its reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend_registry.h"
#include "model/model_config.h"
#include "observe/monitor_config.h"
#include "observe/monitor_sinks.h"
#include "routing/kernel_shap.h"
#include "routing/router_builder.h"
#include "runtime/served_model.h"

namespace ferry::runtime {

// Decodes a KServe V2 JSON request (for warm-up sample files); the frontend's codec, handed down
// so that the runtime does not depend on a frontend.
using RequestDecoder = std::function<core::Result<core::InferenceRequest>(std::string_view json)>;

// What one version is built from.
struct VersionBuild {
  const model::ModelConfig* config = nullptr;  // with the model's name; must outlive the call
  std::filesystem::path model_dir;             // <repo>/<model>
  std::int64_t version = 0;
  std::uint64_t fingerprint = 0;         // of the version folder's files, to tell a change later
  std::uint64_t config_fingerprint = 0;  // of model.yaml
  routing::ExplainLimits explain_limits;  // ferry serve --explain-max-*
  std::chrono::microseconds inline_below{0};  // ferry serve --inline-below-us
  // Monitoring (docs/monitoring.md): ferry.yaml's defaults, which model.yaml's section is read
  // over, and the sinks records go to; no monitoring without sinks.
  const observe::MonitorConfig* monitoring = nullptr;
  observe::MonitorSinks* monitor_sinks = nullptr;
};

std::shared_ptr<ServedVersion> BuildModelVersion(const VersionBuild& build, const backends::BackendRegistry& registry,
                                                 const RequestDecoder& decoder);

// A pipeline's one version (its steps are in model.yaml). Refused when its model steps would
// call it back (a cycle through routers), or call models the repository does not have (listed in
// `missing`, so that it can be built again once they come).
std::shared_ptr<ServedVersion> BuildPipelineVersion(const VersionBuild& build, const routing::Resolver& resolver,
                                                    std::vector<std::string>* missing);

// A router's one version. `previous` is the version it replaces (a reload keeps its bandit and
// counters when the routes are the same); `missing` gets the targets that did not serve.
std::shared_ptr<ServedVersion> BuildRouterVersion(const VersionBuild& build, const routing::RouterEnvironment& environment,
                                                  const routing::Servable* previous, std::vector<std::string>* missing);

}  // namespace ferry::runtime
