// Models delivered over Kafka (docs/streaming.md):
//   - PublishModel (`ferry publish`): a packed model version (model_package.h) in chunks under
//     the broker's message size, keyed by the model's name (so they stay in order in one
//     partition), then a manifest {name, version, size, sha256, chunks}.
//   - ModelSubscriber (ferry.yaml `models_topic`): every serving instance reads every partition
//     of the topic (not as part of a group), reassembles each package, checks its size and
//     SHA-256, unpacks it into the model repository as <model>/<version>/ (and model.yaml) and
//     asks the server to load the model, which swaps the new version in atomically while the
//     current one keeps serving. At start it reads the topic to its end and applies only the
//     last complete package of each model (start_from: last) or every one in order (earliest).
//     A package that is incomplete, corrupt or cannot be unpacked is refused with a log line and
//     a count on /metrics; one that does not load leaves the current version serving.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "core/error.h"
#include "runtime/server.h"
#include "stream/stream_config.h"

namespace ferry::stream {

struct PublishRequest {
  std::string bootstrap_servers;
  std::map<std::string, std::string> properties;
  std::string topic;
  std::string name;
  std::int64_t version = 0;
  std::string package;  // PackModel's output
  std::size_t chunk_bytes = 512 * 1024;
};

// Produces the chunks and the manifest and waits until the broker has acknowledged them all.
core::Result<void> PublishModel(const PublishRequest& request);

struct ModelTopicCounters {
  std::atomic<std::uint64_t> applied{0};  // packages unpacked and handed to the server to load
  std::atomic<std::uint64_t> refused{0};  // incomplete, corrupt or unpackable packages
};

class ModelSubscriber {
 public:
  static core::Result<std::unique_ptr<ModelSubscriber>> Start(const StreamConfig& kafka,
                                                              const std::filesystem::path& repository,
                                                              runtime::Server& server);
  ~ModelSubscriber();
  void Stop();
  std::shared_ptr<const ModelTopicCounters> counters() const { return counters_; }

 private:
  struct Impl;
  ModelSubscriber();
  std::shared_ptr<ModelTopicCounters> counters_ = std::make_shared<ModelTopicCounters>();
  std::unique_ptr<Impl> impl_;
  std::jthread thread_;
};

// Appends ferry_models_topic_applied_total and ferry_models_topic_refused_total to `out`.
void RenderModelTopicMetrics(const ModelTopicCounters& counters, std::string& out);

}  // namespace ferry::stream
