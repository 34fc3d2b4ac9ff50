#include "model/model_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

#include "core/file.h"
#include "core/yaml_reader.h"
#include "observe/monitor_config.h"

namespace ferry::model {
namespace {

using core::Result;

// Reading helpers: each failure names the file, line and key.
class Reader : public core::YamlReader {
 public:
  using core::YamlReader::YamlReader;

  // `labels` (outputs only): each output's labels file, by output name.
  Result<std::vector<core::TensorSpec>> Tensors(const YAML::Node& node, std::string_view key,
                                                std::map<std::string, std::string>* labels = nullptr) const {
    if (!node.IsSequence()) return Fail(node, fmt::format("'{}' must be a list of tensors", key));
    std::vector<core::TensorSpec> specs;
    std::set<std::string> seen;
    for (const auto& item : node) {
      if (!item.IsMap()) return Fail(item, fmt::format("each entry of '{}' must be a map", key));
      if (labels) {
        FERRY_RETURN_IF_ERROR(OnlyKeys(item, key, {"name", "datatype", "shape", "labels"}));
      } else {
        FERRY_RETURN_IF_ERROR(OnlyKeys(item, key, {"name", "datatype", "shape"}));
      }
      core::TensorSpec spec;
      if (!item["name"]) return Fail(item, fmt::format("an entry of '{}' has no 'name'", key));
      FERRY_ASSIGN_OR_RETURN(spec.name, Scalar<std::string>(item["name"], "name", "a string"));
      if (!seen.insert(spec.name).second) {
        return Fail(item, fmt::format("'{}' lists '{}' twice", key, spec.name));
      }
      if (!item["datatype"]) return Fail(item, fmt::format("{} '{}' has no 'datatype'", key, spec.name));
      FERRY_ASSIGN_OR_RETURN(auto type_name,
                             Scalar<std::string>(item["datatype"], "datatype", "a datatype name"));
      auto type = core::ParseDataType(type_name);
      if (!type) {
        return Fail(item["datatype"],
                    fmt::format("{} '{}': unknown datatype '{}' (use BOOL, UINT8..UINT64, INT8..INT64, "
                                "FP16, FP32, FP64, BF16 or BYTES)", key, spec.name, type_name));
      }
      spec.type = *type;
      const YAML::Node shape = item["shape"];
      if (!shape || !shape.IsSequence()) {
        return Fail(item, fmt::format("{} '{}' needs 'shape', a list of dims (-1 = any size)", key, spec.name));
      }
      for (const auto& dim : shape) {
        FERRY_ASSIGN_OR_RETURN(std::int64_t d, Scalar<std::int64_t>(dim, "shape", "a list of integers"));
        if (d < -1) return Fail(dim, fmt::format("{} '{}': dim {} is invalid (>= 0, or -1 for any)", key, spec.name, d));
        spec.shape.mutable_dims().push_back(d);
      }
      if (labels && item["labels"]) {
        FERRY_ASSIGN_OR_RETURN((*labels)[spec.name], Scalar<std::string>(item["labels"], "labels", "a file name"));
      }
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  Result<DynamicBatching> Batching(const YAML::Node& node) const {
    DynamicBatching batching{.enabled = true};
    if (node.IsNull()) return batching;  // `dynamic_batching:` alone: the defaults
    if (!node.IsMap()) return Fail(node, "'dynamic_batching' must be a map of settings");
    FERRY_RETURN_IF_ERROR(OnlyKeys(node, "dynamic_batching",
                                   {"max_queue_delay_us", "preferred_batch_sizes", "max_queue_size",
                                    "default_timeout_us"}));
    auto non_negative = [&](const char* key, std::int64_t& out, std::int64_t min) -> Result<void> {
      if (!node[key]) return {};
      FERRY_ASSIGN_OR_RETURN(out, Scalar<std::int64_t>(node[key], key, "an integer"));
      if (out < min) return Fail(node[key], fmt::format("{} must be at least {}", key, min));
      return {};
    };
    FERRY_RETURN_IF_ERROR(non_negative("max_queue_delay_us", batching.max_queue_delay_us, 0));
    FERRY_RETURN_IF_ERROR(non_negative("max_queue_size", batching.max_queue_size, 1));
    FERRY_RETURN_IF_ERROR(non_negative("default_timeout_us", batching.default_timeout_us, 0));
    if (const YAML::Node sizes = node["preferred_batch_sizes"]) {
      if (!sizes.IsSequence()) return Fail(sizes, "'preferred_batch_sizes' must be a list of batch sizes");
      for (const auto& size : sizes) {
        FERRY_ASSIGN_OR_RETURN(std::int64_t v, Scalar<std::int64_t>(size, "preferred_batch_sizes", "a list of integers"));
        if (v < 1) return Fail(size, "preferred batch sizes are at least 1");
        batching.preferred_batch_sizes.push_back(v);
      }
    }
    return batching;
  }

  Result<VersionPolicy> Policy(const YAML::Node& node) const {
    VersionPolicy policy;
    if (node.IsScalar()) {
      if (node.Scalar() == "latest") return policy;
      if (node.Scalar() == "all") {
        policy.kind = VersionPolicy::Kind::kAll;
        return policy;
      }
      return Fail(node, fmt::format("version_policy '{}' is unknown (latest, all, {{latest: N}} or "
                                    "{{specific: [versions]}})", node.Scalar()));
    }
    if (node.IsMap() && node.size() == 1 && node["latest"]) {
      FERRY_ASSIGN_OR_RETURN(policy.latest, Scalar<int>(node["latest"], "latest", "a positive integer"));
      if (policy.latest < 1) return Fail(node["latest"], "version_policy latest must be at least 1");
      return policy;
    }
    if (node.IsMap() && node.size() == 1 && node["specific"] && node["specific"].IsSequence()) {
      policy.kind = VersionPolicy::Kind::kSpecific;
      for (const auto& v : node["specific"]) {
        FERRY_ASSIGN_OR_RETURN(std::int64_t version, Scalar<std::int64_t>(v, "specific", "a list of versions"));
        if (version < 1) return Fail(v, "versions are positive integers");
        policy.versions.push_back(version);
      }
      std::sort(policy.versions.begin(), policy.versions.end());
      return policy;
    }
    return Fail(node, "version_policy must be latest, all, {latest: N} or {specific: [versions]}");
  }

 private:
  std::string_view source_;
};

}  // namespace

std::vector<std::int64_t> VersionPolicy::Select(const std::vector<std::int64_t>& present) const {
  switch (kind) {
    case Kind::kAll: return present;
    case Kind::kLatest: {
      const std::size_t keep = std::min<std::size_t>(present.size(), static_cast<std::size_t>(latest));
      return {present.end() - static_cast<std::ptrdiff_t>(keep), present.end()};
    }
    case Kind::kSpecific: {
      std::vector<std::int64_t> chosen;
      for (std::int64_t v : present) {
        if (std::binary_search(versions.begin(), versions.end(), v)) chosen.push_back(v);
      }
      return chosen;
    }
  }
  return {};
}

std::string VersionPolicy::ToString() const {
  switch (kind) {
    case Kind::kAll: return "all";
    case Kind::kLatest: return latest == 1 ? "latest" : fmt::format("latest {}", latest);
    case Kind::kSpecific: return fmt::format("specific [{}]", fmt::join(versions, ", "));
  }
  return "";
}

int InstanceCount(const ModelConfig& config, std::string_view backend) {
  if (config.instances > 0) return config.instances;
  return backend == "onnxruntime" ? 2 : 1;
}

Result<ModelConfig> ParseModelConfig(std::string_view yaml, std::string_view source) {
  Reader r(source);
  FERRY_ASSIGN_OR_RETURN(const YAML::Node root, r.Load(yaml));
  ModelConfig config;
  if (root.IsNull()) return config;  // an empty file means all defaults
  if (!root.IsMap()) return r.Fail(root, "must be a map of settings");
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(root, "model.yaml",
                                   {"name", "backend", "max_batch_size", "instances", "version_policy",
                                    "dynamic_batching", "warmup", "inputs", "outputs", "parameters", "pipeline",
                                    "router", "pre_transform", "predict", "post_transform", "python",
                                    "feature_names", "explain", "monitoring"}));
  if (root["predict"] && root["pipeline"]) {
    return r.Fail(root["predict"], "'predict' is a model's hook; a pipeline calls its models in model steps");
  }
  if (!root["pipeline"]) {
    for (auto [key, into] : {std::pair{"pre_transform", &config.pre_transform}, std::pair{"predict", &config.predict},
                             std::pair{"post_transform", &config.post_transform}}) {
      if (!root[key]) continue;
      FERRY_ASSIGN_OR_RETURN(*into, r.Scalar<std::string>(root[key], key, "module:factory"));
      if (into->find(':') == std::string::npos) return r.Fail(root[key], fmt::format("'{}' must be module:factory", key));
    }
    const bool hooks = !config.pre_transform.empty() || !config.predict.empty() || !config.post_transform.empty();
    if (hooks && root["dynamic_batching"]) {
      return r.Fail(root["dynamic_batching"], "a model with pre_transform, predict or post_transform sees one "
                                              "request an event: dynamic_batching cannot be on");
    }
  }
  if (const YAML::Node steps = root["pipeline"]) {
    if (!steps.IsSequence()) return r.Fail(steps, "'pipeline' must be a list of steps");
    for (const char* key : {"max_batch_size", "instances", "dynamic_batching", "warmup", "inputs", "outputs", "python"}) {
      if (root[key]) return r.Fail(root[key], fmt::format("'{}' is a model setting; a pipeline does not take it", key));
    }
    if (root["backend"] && root["backend"].IsScalar() && root["backend"].Scalar() != "pipeline") {
      return r.Fail(root["backend"], "a pipeline's backend can only be 'pipeline'");
    }
    config.is_pipeline = true;
    config.backend = "pipeline";
    config.yaml_text = std::string(yaml);
    config.yaml_source = std::string(source);
  }
  if (const YAML::Node router = root["router"]) {
    if (root["pipeline"]) return r.Fail(router, "a model is a router or a pipeline, not both");
    if (!router.IsMap()) return r.Fail(router, "'router' must be a map ({routes: [...]}, {ensemble: ...}, ...)");
    for (const char* key : {"max_batch_size", "instances", "dynamic_batching", "warmup", "inputs", "outputs",
                            "version_policy", "pre_transform", "predict", "post_transform", "python"}) {
      if (root[key]) return r.Fail(root[key], fmt::format("'{}' is a model setting; a router does not take it", key));
    }
    if (root["backend"] && root["backend"].IsScalar() && root["backend"].Scalar() != "router") {
      return r.Fail(root["backend"], "a router's backend can only be 'router'");
    }
    config.is_router = true;
    config.backend = "router";
    config.yaml_text = std::string(yaml);
    config.yaml_source = std::string(source);
  }
  if (root["name"]) {
    FERRY_ASSIGN_OR_RETURN(config.name, r.Scalar<std::string>(root["name"], "name", "a string"));
  }
  if (root["backend"]) {
    FERRY_ASSIGN_OR_RETURN(config.backend, r.Scalar<std::string>(root["backend"], "backend", "a backend name"));
  }
  if (root["max_batch_size"]) {
    FERRY_ASSIGN_OR_RETURN(config.max_batch_size,
                           r.Scalar<std::int64_t>(root["max_batch_size"], "max_batch_size", "an integer >= 0"));
    if (config.max_batch_size < 0) return r.Fail(root["max_batch_size"], "max_batch_size must be >= 0");
  }
  if (root["instances"]) {
    FERRY_ASSIGN_OR_RETURN(config.instances, r.Scalar<int>(root["instances"], "instances", "an integer >= 1"));
    if (config.instances < 1 || config.instances > 256) {
      return r.Fail(root["instances"], "instances must be between 1 and 256");
    }
  }
  if (const YAML::Node python = root["python"]) {
    if (!python.IsMap()) return r.Fail(python, "'python' must be a map ({workers: N})");
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(python, "python", {"workers"}));
    if (python["workers"]) {
      FERRY_ASSIGN_OR_RETURN(config.python_workers,
                             r.Scalar<int>(python["workers"], "python.workers", "an integer between 1 and 64"));
      if (config.python_workers < 1 || config.python_workers > 64) {
        return r.Fail(python["workers"], "python.workers must be between 1 and 64");
      }
      if (root["instances"] && config.instances != config.python_workers) {
        return r.Fail(root["instances"], "with python.workers each worker process is an instance: leave "
                                         "'instances' out or make it equal");
      }
      config.instances = config.python_workers;
    }
  }
  if (root["version_policy"]) {
    FERRY_ASSIGN_OR_RETURN(config.version_policy, r.Policy(root["version_policy"]));
  }
  if (const YAML::Node batching = root["dynamic_batching"]) {
    FERRY_ASSIGN_OR_RETURN(config.dynamic_batching, r.Batching(batching));
    if (config.max_batch_size < 1) {
      return r.Fail(batching, "dynamic_batching needs max_batch_size > 0 (the rows a batch may hold)");
    }
    for (auto size : config.dynamic_batching.preferred_batch_sizes) {
      if (size > config.max_batch_size) {
        return r.Fail(batching["preferred_batch_sizes"],
                      fmt::format("preferred batch size {} exceeds max_batch_size {}", size, config.max_batch_size));
      }
    }
  }
  if (const YAML::Node warmup = root["warmup"]) {
    if (!warmup.IsSequence()) return r.Fail(warmup, "'warmup' must be a list of samples");
    for (const auto& item : warmup) {
      if (!item.IsMap()) return r.Fail(item, "each warmup sample must be a map");
      FERRY_RETURN_IF_ERROR(r.OnlyKeys(item, "warmup", {"batch_size", "count", "fill", "request"}));
      WarmupSample sample;
      if (item["batch_size"]) {
        FERRY_ASSIGN_OR_RETURN(sample.batch_size, r.Scalar<std::int64_t>(item["batch_size"], "batch_size", "an integer"));
        if (sample.batch_size < 1) return r.Fail(item["batch_size"], "warmup batch_size must be at least 1");
      }
      if (item["count"]) {
        FERRY_ASSIGN_OR_RETURN(sample.count, r.Scalar<int>(item["count"], "count", "an integer"));
        if (sample.count < 1 || sample.count > 1000) return r.Fail(item["count"], "warmup count must be 1..1000");
      }
      if (item["fill"]) {
        FERRY_ASSIGN_OR_RETURN(auto fill, r.Scalar<std::string>(item["fill"], "fill", "zero or random"));
        if (fill != "zero" && fill != "random") return r.Fail(item["fill"], "warmup fill must be zero or random");
        sample.random = fill == "random";
      }
      if (item["request"]) {
        FERRY_ASSIGN_OR_RETURN(sample.request_file, r.Scalar<std::string>(item["request"], "request", "a file path"));
        const std::filesystem::path path(sample.request_file);
        bool escapes = path.is_absolute() || sample.request_file.find('\0') != std::string::npos;
        for (const auto& part : path) escapes |= part == "..";
        if (escapes || sample.request_file.empty()) {
          return r.Fail(item["request"], "warmup request must be a relative path inside the model folder (no '..')");
        }
      }
      config.warmup.push_back(sample);
    }
  }
  if (root["inputs"]) {
    FERRY_ASSIGN_OR_RETURN(config.inputs, r.Tensors(root["inputs"], "inputs"));
  }
  if (root["outputs"]) {
    FERRY_ASSIGN_OR_RETURN(config.outputs, r.Tensors(root["outputs"], "outputs", &config.labels));
  }
  if (const YAML::Node monitoring = root["monitoring"]) {
    // Checked here, with the file's lines; read again over ferry.yaml's defaults at load.
    FERRY_RETURN_IF_ERROR(observe::ParseMonitorConfig(monitoring, r));
    YAML::Emitter out;
    out << monitoring;
    config.monitoring_yaml = out.c_str();
  }
  if (const YAML::Node names = root["feature_names"]) {
    if (!names.IsSequence() || names.size() == 0) return r.Fail(names, "'feature_names' must be a list of names");
    for (const auto& name : names) {
      FERRY_ASSIGN_OR_RETURN(auto n, r.Scalar<std::string>(name, "feature_names", "a list of names"));
      config.feature_names.push_back(std::move(n));
    }
  }
  if (const YAML::Node explain = root["explain"]) {
    if (!explain.IsMap()) {
      return r.Fail(explain, "'explain' must be a map ({rows: [[...], ...] or background: FILE.npy, samples: N, seed: S})");
    }
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(explain, "explain", {"rows", "background", "samples", "seed"}));
    // Bounds past these are --explain-max-samples and --explain-max-background's, checked at load.
    if (explain["samples"]) {
      FERRY_ASSIGN_OR_RETURN(const auto samples, r.Scalar<std::int64_t>(explain["samples"], "explain.samples",
                                                                         "an integer >= 1"));
      if (samples < 1) return r.Fail(explain["samples"], "explain.samples must be >= 1");
      config.explain_samples = static_cast<std::size_t>(samples);
    }
    if (explain["background"]) {
      if (explain["rows"]) return r.Fail(explain, "give 'explain.rows' or 'explain.background', not both");
      FERRY_ASSIGN_OR_RETURN(config.explain_background, r.Scalar<std::string>(explain["background"],
                                                                             "explain.background", "a .npy file name"));
    }
    if (explain["seed"]) {
      FERRY_ASSIGN_OR_RETURN(const auto seed, r.Scalar<std::int64_t>(explain["seed"], "explain.seed", "an integer >= 0"));
      if (seed < 0) return r.Fail(explain["seed"], "explain.seed must be >= 0");
      config.explain_seed = static_cast<std::uint64_t>(seed);
    }
    if (const YAML::Node rows = explain["rows"]) {
      if (!rows.IsSequence() || rows.size() == 0) {
        return r.Fail(rows, "'explain.rows' must be a list of rows of numbers");
      }
      for (const auto& row : rows) {
        if (!row.IsSequence() || row.size() == 0) return r.Fail(row, "each of 'explain.rows' must be a list of numbers");
        std::vector<double> values;
        for (const auto& v : row) {
          FERRY_ASSIGN_OR_RETURN(double d, r.Scalar<double>(v, "explain.rows", "a list of numbers"));
          values.push_back(d);
        }
        if (!config.explain_rows.empty() && values.size() != config.explain_rows.front().size()) {
          return r.Fail(row, fmt::format("the rows of 'explain.rows' must all have {} numbers; one has {}",
                                         config.explain_rows.front().size(), values.size()));
        }
        config.explain_rows.push_back(std::move(values));
      }
    }
  }
  if (const YAML::Node params = root["parameters"]) {
    if (!params.IsMap()) return r.Fail(params, "'parameters' must be a map of names to values");
    for (const auto& entry : params) {
      FERRY_ASSIGN_OR_RETURN(auto key, r.Key(entry.first, "'parameters'"));
      FERRY_ASSIGN_OR_RETURN(auto value, r.Scalar<std::string>(entry.second, key, "a scalar value"));
      config.parameters[std::move(key)] = std::move(value);
    }
  }
  return config;
}

Result<ModelConfig> LoadModelConfig(const std::filesystem::path& file) {
  FERRY_ASSIGN_OR_RETURN(const auto text, core::ReadWholeFile(file));
  return ParseModelConfig(text, file.string());
}

bool IsRouterConfig(const std::filesystem::path& file) {
  auto config = LoadModelConfig(file);
  return config && config->is_router;
}

}  // namespace ferry::model
