// ModelConfig: what <repo>/<model>/model.yaml says about a model. Every key is optional; a model
// folder without model.yaml gets the defaults and its signature from the model file itself.
//
//   name: pima                # must equal the folder name when given
//   backend: onnxruntime      # default: detected from the version folder's files
//   max_batch_size: 0         # > 0: the first dim is the batch dim, at most this many rows a request
//   instances: 2              # backend instances executing in parallel (default: the backend's,
//                             #   2 for ONNX Runtime as in Triton, 1 for the others)
//   version_policy: latest    # latest | all | {latest: N} | {specific: [1, 3]}
//   dynamic_batching:         # join concurrent requests (needs max_batch_size > 0)
//     max_queue_delay_us: 100 #   how long a batch may wait to fill (default 0: no waiting)
//     preferred_batch_sizes: [8, 16]   # dispatch at once at these sizes
//     max_queue_size: 4096    #   waiting requests before new ones are refused
//     default_timeout_us: 0   #   0: no timeout; a request's "timeout" parameter overrides
//   warmup:                   # run before the version is READY; a failure makes it UNAVAILABLE
//     - {batch_size: 1, count: 1, fill: zero}   # synthetic inputs (zero | random), -1 dims = 1
//     - {request: warmup/sample.json, count: 2} # a V2 JSON request file in the model folder
//   inputs:  [{name: features, datatype: FP32, shape: [-1, 8]}]   # shapes as clients see them
//   outputs: [{name: probability, datatype: FP32, shape: [-1, 1]}]
//            # an output may name its class labels, one a line: {..., labels: labels.txt}
//   parameters: {intra_op_threads: 1}                            # backend-specific strings
//   pipeline: [...]           # makes it a pipeline: steps instead of a model file (docs/pipelines.md)
//   router: {...}             # makes it a router over other models (docs/routing.md)
//   pre_transform / predict / post_transform: module:factory   # Python hooks (docs/python.md)
//   python: {workers: 2}      # a Python model's instances as worker processes (docs/python.md)
//
// Unknown keys are errors (a typo must not be silently ignored). Plain value type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::model {

struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int latest = 1;                      // kLatest: how many of the highest versions
  std::vector<std::int64_t> versions;  // kSpecific

  // The versions to serve among those present (ascending in, ascending out).
  std::vector<std::int64_t> Select(const std::vector<std::int64_t>& present) const;
  std::string ToString() const;
};

struct DynamicBatching {
  bool enabled = false;
  std::int64_t max_queue_delay_us = 0;
  std::vector<std::int64_t> preferred_batch_sizes;
  std::int64_t max_queue_size = 4096;
  std::int64_t default_timeout_us = 0;
};

struct WarmupSample {
  std::int64_t batch_size = 1;  // the first dim of inputs whose first dim is -1
  int count = 1;                // executions on each instance
  bool random = false;          // fill: random (uniform [0, 1) / small integers) or zero
  std::string request_file;     // when set: a KServe V2 JSON request, relative to the model folder
};

struct ModelConfig {
  std::string name;
  std::string backend;  // empty: detect
  std::int64_t max_batch_size = 0;
  int instances = 0;  // 0: not given, the backend's default (InstanceCount)
  VersionPolicy version_policy;
  DynamicBatching dynamic_batching;
  std::vector<WarmupSample> warmup;
  std::vector<core::TensorSpec> inputs;   // empty: take the model's own
  std::vector<core::TensorSpec> outputs;  // empty: take the model's own
  // Class labels files by output name (relative to the model folder), for the classification
  // extension: line i is the label of class i.
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> parameters;
  // Python hooks of a model (docs/python.md, "Hooks"): module:factory each, empty when absent.
  // Pipelines take pre_transform and post_transform too, as python steps (pipeline.cc).
  std::string pre_transform, predict, post_transform;
  // `python: {workers: N}`: a Python model's N instances run in worker processes; 0: in-process.
  int python_workers = 0;
  // `feature_names`: a name for each column of the model's one 2-D input, for explanations
  // (docs/explain.md); empty: the model's own names, or f0, f1, ...
  std::vector<std::string> feature_names;
  // `explain: {rows: [[...], ...], samples: N, seed: S}`: background rows (an exact linear
  // explanation is taken against their mean, empty: against zero; KernelSHAP's background for
  // models without an exact explainer) and KernelSHAP's coalitions and seed.
  std::vector<std::vector<double>> explain_rows;
  std::size_t explain_samples = 512;
  std::string explain_background;  // a .npy file in the model's folder, read at load (else explain_rows)
  std::uint64_t explain_seed = 0;
  // `monitoring:` (docs/monitoring.md) as written, read over ferry.yaml's defaults when a version
  // is built (observe::ParseMonitorConfig); empty when model.yaml has none.
  std::string monitoring_yaml;
  // A pipeline (`pipeline:`, docs/pipelines.md) or a router (`router:`, docs/routing.md): the
  // whole model.yaml text and the name it was read from, which the pipeline or routing library
  // parses (its steps or routes are not a model setting). Both have one version, 1.
  bool is_pipeline = false;
  bool is_router = false;
  std::string yaml_text;
  std::string yaml_source;
};

// How many instances of `config`'s model to run when its backend is `backend`: model.yaml's
// `instances`, else the backend's default: 2 for ONNX Runtime (Triton's default for CPU
// instances of it: two small-model executions in parallel, each also able to run on the thread
// that received its request), 1 for the others (a Python model's interpreter holds the GIL; a
// large TorchScript or XGBoost model's memory would double).
int InstanceCount(const ModelConfig& config, std::string_view backend);

// Parses model.yaml text; `source` names the file in error messages ("pima/model.yaml").
core::Result<ModelConfig> ParseModelConfig(std::string_view yaml, std::string_view source);

// Reads and parses a model.yaml file.
core::Result<ModelConfig> LoadModelConfig(const std::filesystem::path& file);

// Whether a model.yaml file makes its model a router (false when it cannot be read).
bool IsRouterConfig(const std::filesystem::path& file);

}  // namespace ferry::model
