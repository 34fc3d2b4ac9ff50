#include "runtime/server.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/version.h"
#include "model/model_loader.h"
#include "model/repository.h"
#include "runtime/request_validation.h"

namespace ferry::runtime {

// One model version as it serves. The pool is declared after the model so that it is destroyed
// first: its instances borrow the model.
struct Server::ServedVersion {
  std::string name;
  std::int64_t version = 0;
  std::int64_t max_batch_size = 0;
  ModelState state = ModelState::kUnavailable;
  std::string reason;
  model::LoadedVersion loaded;
  std::unique_ptr<sched::Scheduler> pool;
};

struct Server::ServedModel {
  std::string name;
  model::ModelConfig config;
  std::string error;  // set when the model as a whole cannot serve (bad model.yaml, no versions)
  std::map<std::int64_t, std::shared_ptr<ServedVersion>> versions;
};

core::Result<std::unique_ptr<Server>> Server::Create(const Options& options) {
  FERRY_ASSIGN_OR_RETURN(auto scan, model::ScanRepository(options.model_repository));
  spdlog::info("model repository {}: {} model folder(s)", options.model_repository.string(), scan.models.size());
  for (const auto& note : scan.ignored) spdlog::info("ignored {}", note);

  std::unique_ptr<Server> server(new Server());
  const auto registry = backends::BackendRegistry::WithBuiltins();
  for (const auto& dir : scan.models) {
    server->LoadModel(registry, dir.name, dir.path, dir.config_file, dir.versions);
  }
  for (const ModelStatus& s : server->RepositoryIndex()) {
    if (s.state == ModelState::kReady) {
      spdlog::info("model '{}' version {}: READY", s.name, s.version);
    } else if (s.version > 0) {
      spdlog::warn("model '{}' version {}: UNAVAILABLE: {}", s.name, s.version, s.reason);
    } else {
      spdlog::warn("model '{}': UNAVAILABLE: {}", s.name, s.reason);
    }
  }
  server->ready_ = true;
  return server;
}

Server::~Server() = default;

void Server::LoadModel(const backends::BackendRegistry& registry, const std::string& name,
                       const std::filesystem::path& dir, const std::optional<std::filesystem::path>& config_file,
                       const std::vector<std::int64_t>& versions) {
  auto served = std::make_unique<ServedModel>();
  served->name = name;
  auto config = config_file ? model::LoadModelConfig(*config_file) : core::Result<model::ModelConfig>();
  if (!config) {
    served->error = config.error().message;
  } else if (!config->name.empty() && config->name != name) {
    served->error = fmt::format("model.yaml names the model '{}' but its folder is '{}'", config->name, name);
  } else {
    served->config = std::move(*config);
    served->config.name = name;
    const auto chosen = served->config.version_policy.Select(versions);
    if (chosen.empty()) {
      served->error = versions.empty() ? "no numeric version folder (expected <model>/1/...)"
                                       : fmt::format("version policy '{}' selects none of versions {}",
                                                     served->config.version_policy.ToString(), versions);
    }
    for (std::int64_t v : chosen) {
      auto version = std::make_shared<ServedVersion>();
      version->name = name;
      version->version = v;
      version->max_batch_size = served->config.max_batch_size;
      auto loaded = model::LoadVersion(registry, served->config, dir, v);
      if (!loaded) {
        version->reason = loaded.error().message;
      } else {
        version->loaded = std::move(*loaded);
        std::vector<sched::ExecuteFn> instances;
        for (int i = 0; i < served->config.instances && version->reason.empty(); ++i) {
          auto instance = version->loaded.model->CreateInstance();
          if (!instance) {
            version->reason = instance.error().message;
            break;
          }
          instances.emplace_back([inst = std::move(*instance)](std::span<const core::Tensor> in,
                                                               std::span<const std::string> out,
                                                               core::ComputeTimes* times) {
            return inst->Execute(in, out, times);
          });
        }
        if (version->reason.empty()) {
          const auto& batching = served->config.dynamic_batching;
          version->pool = sched::Scheduler::Create(
              {.model_name = name,
               .model_version = v,
               .max_batch_size = served->config.max_batch_size,
               .batching = batching.enabled,
               .max_queue_delay = std::chrono::microseconds(batching.max_queue_delay_us),
               .preferred_batch_sizes = batching.preferred_batch_sizes,
               .max_queue_size = static_cast<std::size_t>(batching.max_queue_size),
               .default_timeout = std::chrono::microseconds(batching.default_timeout_us)},
              std::move(instances));
          version->state = ModelState::kReady;
        }
      }
      served->versions.emplace(v, std::move(version));
    }
  }
  std::unique_lock lock(mutex_);
  models_[name] = std::move(served);
}

ServerMetadata Server::Metadata() const {
  return {.name = "ferry", .version = kFerryVersion, .extensions = {"binary_tensor_data", "statistics", "model_configuration"}};
}

core::Result<std::shared_ptr<Server::ServedVersion>> Server::Resolve(std::string_view name,
                                                                     std::int64_t version) const {
  std::shared_lock lock(mutex_);
  auto it = models_.find(name);
  if (it == models_.end()) return core::NotFound(fmt::format("unknown model '{}'", name));
  const ServedModel& m = *it->second;
  if (!m.error.empty()) return core::Unavailable(fmt::format("model '{}' is unavailable: {}", name, m.error));
  if (version == 0) {
    for (auto v = m.versions.rbegin(); v != m.versions.rend(); ++v) {
      if (v->second->state == ModelState::kReady) return v->second;
    }
    const auto& latest = *m.versions.rbegin()->second;
    return core::Unavailable(fmt::format("model '{}' version {} is unavailable: {}", name, latest.version,
                                         latest.reason));
  }
  auto v = m.versions.find(version);
  if (v == m.versions.end()) {
    std::vector<std::int64_t> served;
    for (const auto& [n, _] : m.versions) served.push_back(n);
    return core::NotFound(fmt::format("model '{}' has no version {} being served (served: {})", name, version,
                                      served));
  }
  if (v->second->state != ModelState::kReady) {
    return core::Unavailable(fmt::format("model '{}' version {} is unavailable: {}", name, version, v->second->reason));
  }
  return v->second;
}

core::Result<ModelMetadata> Server::GetModelMetadata(std::string_view name, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto served, Resolve(name, version));
  ModelMetadata meta{.name = std::string(name), .versions = {}, .platform = std::string(served->loaded.model->platform()),
                     .signature = served->loaded.signature};
  std::shared_lock lock(mutex_);
  const ServedModel& m = *models_.find(name)->second;
  for (const auto& [n, v] : m.versions) {
    if (v->state == ModelState::kReady && (version == 0 || n == version)) meta.versions.push_back(n);
  }
  return meta;
}

core::Result<bool> Server::IsModelReady(std::string_view name, std::int64_t version) const {
  auto served = Resolve(name, version);
  if (served) return true;
  if (served.error().code == core::ErrorCode::kUnavailable) return false;
  return std::unexpected(served.error());
}

std::vector<ModelStatus> Server::RepositoryIndex() const {
  std::vector<ModelStatus> index;
  std::shared_lock lock(mutex_);
  for (const auto& [name, m] : models_) {
    if (!m->error.empty()) {
      index.push_back({.name = name, .version = 0, .state = ModelState::kUnavailable, .reason = m->error});
      continue;
    }
    for (const auto& [n, v] : m->versions) {
      index.push_back({.name = name, .version = n, .state = v->state, .reason = v->reason});
    }
  }
  return index;
}

core::Result<ModelConfiguration> Server::GetModelConfig(std::string_view name, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto served, Resolve(name, version));
  std::shared_lock lock(mutex_);
  return ModelConfiguration{.config = models_.find(name)->second->config,
                            .platform = std::string(served->loaded.model->platform()),
                            .backend = served->loaded.backend,
                            .signature = served->loaded.signature};
}

core::Result<std::vector<VersionStatistics>> Server::GetStatistics(std::string_view name, std::int64_t version) const {
  std::vector<std::shared_ptr<ServedVersion>> versions;
  if (!name.empty() && version > 0) {
    FERRY_ASSIGN_OR_RETURN(auto served, Resolve(name, version));
    versions.push_back(std::move(served));
  } else {
    if (!name.empty()) FERRY_RETURN_IF_ERROR(Resolve(name, 0));  // unknown or unavailable model
    std::shared_lock lock(mutex_);
    for (const auto& [model, m] : models_) {
      if (!name.empty() && model != name) continue;
      for (const auto& [n, v] : m->versions) {
        if (v->state == ModelState::kReady) versions.push_back(v);
      }
    }
  }
  std::vector<VersionStatistics> result;
  for (const auto& v : versions) {
    result.push_back({.name = v->name, .version = v->version, .stats = v->pool->statistics().Snapshot(),
                      .queue_depth = v->pool->queue_depth()});
  }
  return result;
}

void Server::Infer(core::InferenceRequest&& request, sched::InferCallback done) {
  auto served = Resolve(request.model_name, request.model_version);
  if (!served) return done(std::unexpected(std::move(served).error()));
  const ServedVersion& version = **served;
  auto outputs = ValidateRequest(request.model_name, version.loaded.signature, version.max_batch_size, request);
  if (!outputs) {
    version.pool->statistics().RecordFailure(std::chrono::nanoseconds(0));
    return done(std::unexpected(std::move(outputs).error()));
  }
  // Inputs in signature order, so that requests naming them in another order still batch together.
  const auto& specs = version.loaded.signature.inputs;
  std::sort(request.inputs.begin(), request.inputs.end(), [&](const core::Tensor& a, const core::Tensor& b) {
    auto index = [&](const core::Tensor& t) {
      return std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == t.name(); }) - specs.begin();
    };
    return index(a) < index(b);
  });
  sched::Scheduler::Job job{.request = std::move(request), .outputs = std::move(*outputs), .done = std::move(done)};
  if (auto queued = version.pool->Submit(std::move(job)); !queued) {
    version.pool->statistics().RecordFailure(std::chrono::nanoseconds(0));
    job.done(std::unexpected(std::move(queued).error()));
  }
}

}  // namespace ferry::runtime
