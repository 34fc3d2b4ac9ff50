// ferry::runtime::Server: the one in-process API every frontend (HTTP, gRPC, Kafka) and an
// embedding C++ program talks to -- health, metadata, the repository index and inference.
//
// Lifecycle: Create() scans the model repository and loads every model before it returns; models
// that fail to load are kept as UNAVAILABLE with their reason, and the rest serve. Destruction
// stops the instance pools (requests still queued are answered UNAVAILABLE).
//
// Thread safety: every method may be called concurrently from any thread. Infer never blocks on
// inference: it validates, queues, and returns; the callback runs later on a scheduler thread (or
// at once on the calling thread when the request is refused before queueing).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend_registry.h"
#include "core/error.h"
#include "core/inference.h"
#include "model/model_config.h"
#include "scheduler/scheduler.h"

namespace ferry::runtime {

struct ServerMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> extensions;
};

struct ModelMetadata {
  std::string name;
  std::vector<std::int64_t> versions;  // the versions being served, ascending
  std::string platform;
  core::ModelSignature signature;
};

// The effective configuration of a model version: model.yaml with the defaults applied and the
// signature settled against the model file.
struct ModelConfiguration {
  model::ModelConfig config;
  std::string platform;
  std::string backend;
  core::ModelSignature signature;
};

struct VersionStatistics {
  std::string name;
  std::int64_t version = 0;
  sched::StatisticsSnapshot stats;
  std::size_t queue_depth = 0;  // requests waiting now
};

enum class ModelState { kReady, kUnavailable };

struct ModelStatus {
  std::string name;
  std::int64_t version = 0;  // 0 when the model failed before any version was considered
  ModelState state = ModelState::kUnavailable;
  std::string reason;        // why it is UNAVAILABLE
};

class Server {
 public:
  struct Options {
    std::filesystem::path model_repository;
  };

  // Fails only when the repository cannot be scanned at all.
  static core::Result<std::unique_ptr<Server>> Create(const Options& options);
  ~Server();

  ServerMetadata Metadata() const;
  bool IsLive() const { return true; }
  bool IsReady() const { return ready_.load(std::memory_order_relaxed); }

  // Marks the server not ready (health probes fail) ahead of shutdown; serving continues.
  void BeginShutdown() { ready_.store(false, std::memory_order_relaxed); }

  // `version` 0 means the model as a whole (the latest served version's signature).
  core::Result<ModelMetadata> GetModelMetadata(std::string_view name, std::int64_t version) const;
  // NotFound for an unknown model or version; false when it exists but cannot serve.
  core::Result<bool> IsModelReady(std::string_view name, std::int64_t version) const;
  std::vector<ModelStatus> RepositoryIndex() const;
  core::Result<ModelConfiguration> GetModelConfig(std::string_view name, std::int64_t version) const;
  // `name` empty: every ready version of every model. `version` 0: every ready version of `name`.
  core::Result<std::vector<VersionStatistics>> GetStatistics(std::string_view name, std::int64_t version) const;

  void Infer(core::InferenceRequest&& request, sched::InferCallback done);

 private:
  struct ServedVersion;
  struct ServedModel;

  Server() = default;
  void LoadModel(const backends::BackendRegistry& registry, const std::string& name,
                 const std::filesystem::path& dir, const std::optional<std::filesystem::path>& config_file,
                 const std::vector<std::int64_t>& versions);
  // The version serving a request for `version` (0: the latest ready one).
  core::Result<std::shared_ptr<ServedVersion>> Resolve(std::string_view name, std::int64_t version) const;

  std::atomic<bool> ready_{false};  // read by health probes on I/O threads

  mutable std::shared_mutex mutex_;
  // Protected by mutex_ (written while loading, read while serving).
  std::map<std::string, std::unique_ptr<ServedModel>, std::less<>> models_;
};

}  // namespace ferry::runtime
