#include "model/triton_config.h"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "core/data_type.h"
#include "core/yaml_reader.h"

namespace ferry::model {
namespace {

using core::Result;

// Every field of Triton's ModelConfig message.
constexpr std::array<std::string_view, 24> kTritonFields = {
    "name", "platform", "backend", "runtime", "version_policy", "max_batch_size", "input", "output",
    "batch_input", "batch_output", "optimization", "dynamic_batching", "sequence_batching",
    "ensemble_scheduling", "instance_group", "default_model_filename", "cc_model_filenames", "metric_tags",
    "parameters", "model_warmup", "model_operations", "model_transaction_policy", "model_repository_agents",
    "response_cache"};
// Those model.yaml has too, under the same name.
constexpr std::array<std::string_view, 6> kSharedFields = {"name", "backend", "version_policy", "max_batch_size",
                                                           "dynamic_batching", "parameters"};
// Those ferry ignores, saying so.
constexpr std::array<std::string_view, 9> kIgnoredFields = {
    "runtime", "optimization", "default_model_filename", "cc_model_filenames", "metric_tags", "model_operations",
    "model_repository_agents", "response_cache", "model_transaction_policy"};

template <std::size_t N>
bool In(const std::array<std::string_view, N>& set, std::string_view key) {
  return std::find(set.begin(), set.end(), key) != set.end();
}

// maxBatchSize -> max_batch_size (protobuf's JSON names); proto names pass unchanged.
std::string SnakeCase(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

// A copy of `node` with every map key in snake case, except the keys of `parameters` maps
// (user-chosen names).
YAML::Node Normalized(const YAML::Node& node, bool keep_keys = false) {
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& item : node) {
      const std::string key = item.first.IsScalar() ? item.first.Scalar() : std::string();
      const std::string name = keep_keys ? key : SnakeCase(key);
      out[name] = Normalized(item.second, name == "parameters" && !keep_keys);
    }
    return out;
  }
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : node) out.push_back(Normalized(item));
    return out;
  }
  return node;
}

// Whether a parsed document is Triton's configuration rather than model.yaml.
bool IsTritonConfig(const YAML::Node& root) {
  if (!root.IsMap()) return false;
  for (const auto& item : root) {
    if (!item.first.IsScalar()) return false;
    const std::string key = SnakeCase(item.first.Scalar());
    if (!In(kTritonFields, key)) return false;  // model.yaml's own keys (inputs, warmup, ...)
  }
  for (const auto& item : root) {
    const std::string key = SnakeCase(item.first.Scalar());
    if (!In(kSharedFields, key)) return true;
    const YAML::Node& value = item.second;
    if (key == "parameters" && value.IsMap()) {
      for (const auto& p : value) {
        if (p.second.IsMap()) return true;  // {string_value: ...}
      }
    }
    if (key == "dynamic_batching" && value.IsMap()) {
      for (const auto& d : value) {
        const std::string name = SnakeCase(d.first.Scalar());
        if (name != "max_queue_delay_us" && name != "preferred_batch_sizes" && name != "max_queue_size" &&
            name != "default_timeout_us") {
          return true;
        }
      }
    }
    if (key == "version_policy" && value.IsMap()) {
      // Triton's {latest: {num_versions}}, {all: {}}, {specific: {versions}}; model.yaml's
      // {latest: N}, {specific: [..]} (and the scalar `all`).
      for (const char* kind : {"latest", "all", "specific"}) {
        if (value[kind] && value[kind].IsMap()) return true;
      }
    }
  }
  return false;
}

class Translator {
 public:
  explicit Translator(std::string_view source) : r_(source) {}

  Result<YAML::Node> Translate(const YAML::Node& root, std::vector<std::string>& warnings) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& item : root) {
      const std::string key = item.first.Scalar();
      if (In(kIgnoredFields, key)) {
        if (key == "model_transaction_policy" && item.second["decoupled"] &&
            item.second["decoupled"].as<std::string>("false") == "true") {
          return r_.Fail(item.second, "'model_transaction_policy: {decoupled: true}' is not served by ferry "
                                      "(one answer a request)");
        }
        warnings.push_back(fmt::format("Triton field '{}' ignored: ferry has no use for it", key));
      } else if (key == "sequence_batching" || key == "ensemble_scheduling" || key == "batch_input" ||
                 key == "batch_output") {
        return r_.Fail(item.second, fmt::format("Triton's '{}' is not served by ferry{}", key,
                                                key == "ensemble_scheduling"
                                                    ? " (an ensemble is a router: docs/routing.md)"
                                                    : ""));
      }
    }
    if (root["name"]) out["name"] = root["name"];
    FERRY_RETURN_IF_ERROR(Backend(root, out));
    std::int64_t max_batch_size = 0;
    if (root["max_batch_size"]) {
      FERRY_ASSIGN_OR_RETURN(max_batch_size, r_.Scalar<std::int64_t>(root["max_batch_size"], "max_batch_size",
                                                                     "an integer"));
      out["max_batch_size"] = max_batch_size;
    }
    for (auto [from, to] : {std::pair{"input", "inputs"}, std::pair{"output", "outputs"}}) {
      if (!root[from]) continue;
      FERRY_ASSIGN_OR_RETURN(out[to], Tensors(root[from], from, max_batch_size > 0, warnings));
    }
    if (root["instance_group"]) FERRY_RETURN_IF_ERROR(Instances(root["instance_group"], out, warnings));
    if (root["dynamic_batching"]) FERRY_RETURN_IF_ERROR(Batching(root["dynamic_batching"], out, warnings));
    if (root["version_policy"]) FERRY_RETURN_IF_ERROR(Versions(root["version_policy"], out));
    if (root["parameters"]) FERRY_RETURN_IF_ERROR(Parameters(root["parameters"], out));
    if (root["model_warmup"]) FERRY_RETURN_IF_ERROR(Warmup(root["model_warmup"], out, warnings));
    return out;
  }

 private:
  // platform and backend -> ferry's backend.
  Result<void> Backend(const YAML::Node& root, YAML::Node& out) {
    struct Alias {
      std::string_view triton, ferry;
    };
    static constexpr Alias kPlatforms[] = {{"onnxruntime_onnx", "onnxruntime"}, {"pytorch_libtorch", "torchscript"},
                                           {"ferry_pmml", "pmml"},              {"ferry_linear", "linear"},
                                           {"xgboost", "xgboost"},              {"python", "python"},
                                           {"sklearn", "sklearn"},              {"mlflow", "mlflow"}};
    static constexpr Alias kBackends[] = {{"onnxruntime", "onnxruntime"}, {"pytorch", "torchscript"},
                                          {"torchscript", "torchscript"}, {"python", "python"},
                                          {"pmml", "pmml"},               {"linear", "linear"},
                                          {"xgboost", "xgboost"},         {"sklearn", "sklearn"},
                                          {"mlflow", "mlflow"}};
    std::string backend;
    for (auto [key, table] : {std::pair{"backend", std::span<const Alias>(kBackends)},
                              std::pair{"platform", std::span<const Alias>(kPlatforms)}}) {
      const YAML::Node node = root[key];
      if (!node) continue;
      FERRY_ASSIGN_OR_RETURN(auto name, r_.Scalar<std::string>(node, key, "a string"));
      if (name.empty()) continue;
      if (name == "pipeline" || name == "router" || name == "ensemble") {
        return r_.Fail(node, fmt::format("a {} is defined by its model.yaml: load it with model.yaml's text",
                                         name == "ensemble" ? "router" : name));
      }
      auto alias = std::find_if(table.begin(), table.end(), [&](const Alias& a) { return a.triton == name; });
      if (alias == table.end()) {
        return r_.Fail(node, fmt::format("{} '{}' is not served by ferry (its backends: onnxruntime, torchscript, "
                                         "xgboost, pmml, linear, python, sklearn, mlflow)", key, name));
      }
      if (!backend.empty() && backend != alias->ferry) {
        return r_.Fail(node, fmt::format("platform and backend disagree ('{}' vs '{}')", alias->ferry, backend));
      }
      backend = std::string(alias->ferry);
    }
    if (!backend.empty()) out["backend"] = backend;
    return {};
  }

  Result<YAML::Node> Tensors(const YAML::Node& list, std::string_view key, bool batched,
                             std::vector<std::string>& warnings) {
    if (!list.IsSequence()) return r_.Fail(list, fmt::format("'{}' must be a list of tensors", key));
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : list) {
      if (!item.IsMap()) return r_.Fail(item, fmt::format("each entry of '{}' must be a map", key));
      YAML::Node spec(YAML::NodeType::Map);
      FERRY_ASSIGN_OR_RETURN(auto name, r_.Scalar<std::string>(item["name"], "name", "a string"));
      spec["name"] = name;
      FERRY_ASSIGN_OR_RETURN(auto type, r_.Scalar<std::string>(item["data_type"], "data_type", "TYPE_FP32, ..."));
      const std::string_view bare = std::string_view(type).starts_with("TYPE_") ? std::string_view(type).substr(5)
                                                                               : std::string_view(type);
      const auto parsed = bare == "STRING" ? core::DataType::kBytes : core::ParseDataType(bare);
      if (!parsed) return r_.Fail(item["data_type"], fmt::format("{} '{}': unknown data_type '{}'", key, name, type));
      spec["datatype"] = std::string(core::DataTypeName(*parsed));
      YAML::Node shape(YAML::NodeType::Sequence);
      if (batched) shape.push_back(-1);
      const YAML::Node dims = item["dims"];
      if (!dims || !dims.IsSequence()) return r_.Fail(item, fmt::format("{} '{}' needs 'dims'", key, name));
      for (const auto& dim : dims) {
        FERRY_ASSIGN_OR_RETURN(std::int64_t d, r_.Scalar<std::int64_t>(dim, "dims", "a list of integers"));
        shape.push_back(d);
      }
      spec["shape"] = shape;
      for (const auto& field : item) {
        const std::string f = field.first.Scalar();
        if (f == "name" || f == "data_type" || f == "dims") continue;
        if (f == "label_filename") {
          spec["labels"] = field.second;
        } else if (f == "reshape" || f == "is_shape_tensor" || f == "allow_ragged_batch") {
          return r_.Fail(field.second, fmt::format("{} '{}': Triton's '{}' is not served by ferry", key, name, f));
        } else {
          warnings.push_back(fmt::format("Triton field '{}.{}' of '{}' ignored", key, f, name));
        }
      }
      out.push_back(spec);
    }
    return out;
  }

  Result<void> Instances(const YAML::Node& groups, YAML::Node& out, std::vector<std::string>& warnings) {
    if (!groups.IsSequence()) return r_.Fail(groups, "'instance_group' must be a list");
    std::int64_t count = 0;
    for (const auto& group : groups) {
      std::int64_t n = 1;
      if (group["count"]) {
        FERRY_ASSIGN_OR_RETURN(n, r_.Scalar<std::int64_t>(group["count"], "count", "an integer"));
      }
      if (n < 1) return r_.Fail(group["count"], "an instance group's 'count' must be at least 1");
      count += n;
      const std::string kind = group["kind"] ? group["kind"].as<std::string>("") : "";
      if (!kind.empty() && kind != "KIND_CPU" && kind != "KIND_AUTO") {
        warnings.push_back(fmt::format("instance_group kind {}: ferry runs every instance on the CPU", kind));
      }
    }
    if (count > 0) out["instances"] = count;
    return {};
  }

  Result<void> Batching(const YAML::Node& node, YAML::Node& out, std::vector<std::string>& warnings) {
    if (!node.IsMap() && !node.IsNull()) return r_.Fail(node, "'dynamic_batching' must be a map");
    YAML::Node batching(YAML::NodeType::Map);
    if (node.IsMap()) {
      for (const auto& item : node) {
        const std::string key = item.first.Scalar();
        if (key == "max_queue_delay_microseconds") {
          batching["max_queue_delay_us"] = item.second;
        } else if (key == "preferred_batch_size") {
          batching["preferred_batch_sizes"] = item.second;
        } else if (key == "default_queue_policy") {
          const YAML::Node policy = item.second;
          if (policy["max_queue_size"]) batching["max_queue_size"] = policy["max_queue_size"];
          if (policy["default_timeout_microseconds"]) {
            batching["default_timeout_us"] = policy["default_timeout_microseconds"];
          }
        } else {
          warnings.push_back(fmt::format("Triton field 'dynamic_batching.{}' ignored", key));
        }
      }
    }
    out["dynamic_batching"] = batching;
    return {};
  }

  Result<void> Versions(const YAML::Node& node, YAML::Node& out) {
    if (node["all"]) {
      out["version_policy"] = "all";
    } else if (node["latest"]) {
      std::int64_t n = 1;
      if (node["latest"]["num_versions"]) {
        FERRY_ASSIGN_OR_RETURN(n, r_.Scalar<std::int64_t>(node["latest"]["num_versions"], "num_versions", "an integer"));
      }
      YAML::Node policy(YAML::NodeType::Map);
      policy["latest"] = n;
      out["version_policy"] = policy;
    } else if (node["specific"]) {
      YAML::Node policy(YAML::NodeType::Map);
      policy["specific"] = node["specific"]["versions"];
      out["version_policy"] = policy;
    } else {
      return r_.Fail(node, "'version_policy' must have 'latest', 'all' or 'specific'");
    }
    return {};
  }

  Result<void> Parameters(const YAML::Node& node, YAML::Node& out) {
    if (!node.IsMap()) return r_.Fail(node, "'parameters' must be a map");
    YAML::Node parameters(YAML::NodeType::Map);
    for (const auto& item : node) {
      const YAML::Node value = item.second.IsMap() ? item.second["string_value"] : item.second;
      if (!value) return r_.Fail(item.second, fmt::format("parameter '{}' has no 'string_value'", item.first.Scalar()));
      FERRY_ASSIGN_OR_RETURN(auto text, r_.Scalar<std::string>(value, item.first.Scalar(), "a string"));
      parameters[item.first.Scalar()] = text;
    }
    out["parameters"] = parameters;
    return {};
  }

  Result<void> Warmup(const YAML::Node& list, YAML::Node& out, std::vector<std::string>& warnings) {
    if (!list.IsSequence()) return r_.Fail(list, "'model_warmup' must be a list");
    YAML::Node samples(YAML::NodeType::Sequence);
    for (const auto& item : list) {
      YAML::Node sample(YAML::NodeType::Map);
      if (item["batch_size"]) sample["batch_size"] = item["batch_size"];
      if (item["count"]) sample["count"] = item["count"];
      bool random = false;
      const YAML::Node inputs = item["inputs"];
      for (const auto& input : inputs.IsMap() ? inputs : YAML::Node(YAML::NodeType::Map)) {
        if (input.second["random_data"]) random = true;
        if (input.second["input_data_file"]) {
          warnings.push_back("model_warmup 'input_data_file' ignored: the input is zero-filled (a ferry warm-up "
                             "can read a V2 JSON request file instead)");
        }
      }
      sample["fill"] = random ? "random" : "zero";
      samples.push_back(sample);
    }
    out["warmup"] = samples;
    return {};
  }

  core::YamlReader r_;
};

}  // namespace

Result<LoadConfig> ParseLoadConfig(std::string_view text, std::string_view source) {
  core::YamlReader reader(source);
  FERRY_ASSIGN_OR_RETURN(const YAML::Node root, reader.Load(text));
  LoadConfig result;
  if (!IsTritonConfig(root)) {
    FERRY_ASSIGN_OR_RETURN(result.config, ParseModelConfig(text, source));
    return result;
  }
  Translator translator(source);
  YAML::Node translated;
  try {
    FERRY_ASSIGN_OR_RETURN(translated, translator.Translate(Normalized(root), result.warnings));
  } catch (const YAML::Exception& e) {  // a field of an unexpected shape
    return core::InvalidArgument(fmt::format("{}: not a valid Triton model configuration: {}", source, e.msg));
  }
  const std::string translated_source = fmt::format("{}, Triton's read as model.yaml", source);
  FERRY_ASSIGN_OR_RETURN(result.config, ParseModelConfig(YAML::Dump(translated), translated_source));
  return result;
}

}  // namespace ferry::model
