#include "backends/mlflow/mlflow_backend.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "core/file.h"
#include "backends/backend_registry.h"

namespace ferry::backends::mlflow {
namespace {

namespace fs = std::filesystem;
using core::DataType;
using core::Result;

// MLflow's type names (column and tensor signatures) as KServe datatypes.
std::optional<DataType> TypeOf(std::string_view name) {
  static constexpr std::pair<std::string_view, DataType> kTypes[] = {
      {"double", DataType::kFp64},  {"float64", DataType::kFp64}, {"float", DataType::kFp32},
      {"float32", DataType::kFp32}, {"long", DataType::kInt64},   {"int64", DataType::kInt64},
      {"integer", DataType::kInt32}, {"int32", DataType::kInt32}, {"boolean", DataType::kBool},
      {"bool", DataType::kBool},    {"string", DataType::kBytes}, {"str", DataType::kBytes},
      {"binary", DataType::kBytes}, {"object", DataType::kBytes}, {"int8", DataType::kInt8},
      {"int16", DataType::kInt16},  {"uint8", DataType::kUint8},  {"float16", DataType::kFp16}};
  for (const auto& [n, t] : kTypes) {
    if (n == name) return t;
  }
  return std::nullopt;
}

// One side of a signature (a JSON list, as MLflow writes it into MLmodel).
Result<std::vector<core::TensorSpec>> SignatureSide(std::string_view json, std::string_view side,
                                                    std::string_view column_tensor) {
  simdjson::dom::parser parser;
  simdjson::dom::array items;
  if (parser.parse(json).get(items)) {
    return core::InvalidArgument(fmt::format("MLmodel: signature {} is not a JSON list", side));
  }
  std::vector<core::TensorSpec> specs;
  std::vector<DataType> columns;
  for (simdjson::dom::element item : items) {
    std::string_view type, name;
    if (item["type"].get(type)) return core::InvalidArgument(fmt::format("MLmodel: a signature {} has no type", side));
    if (item["name"].get(name)) name = "";
    if (type == "tensor") {
      std::string_view dtype;
      simdjson::dom::array shape;
      if (item["tensor-spec"]["dtype"].get(dtype) || item["tensor-spec"]["shape"].get(shape)) {
        return core::InvalidArgument(fmt::format("MLmodel: tensor {} '{}' has no tensor-spec dtype and shape", side, name));
      }
      const auto t = TypeOf(dtype);
      if (!t) return core::InvalidArgument(fmt::format("MLmodel: tensor {} '{}': dtype '{}' is not supported", side, name, dtype));
      std::vector<std::int64_t> dims;
      for (simdjson::dom::element d : shape) dims.push_back(d.get_int64().value_unsafe());
      specs.push_back({name.empty() ? std::string(column_tensor) : std::string(name), *t, core::Shape(dims)});
    } else {
      const auto t = TypeOf(type);
      if (!t) return core::InvalidArgument(fmt::format("MLmodel: column {} '{}': type '{}' is not supported", side, name, type));
      columns.push_back(*t);
    }
  }
  if (!columns.empty()) {
    if (!specs.empty()) return core::InvalidArgument(fmt::format("MLmodel: signature {} mixes tensors and columns", side));
    // Columns: one 2-D tensor; one type if all agree, else FP64 (numbers) .
    DataType type = columns.front();
    for (DataType t : columns) {
      if (t != type) type = DataType::kFp64;
    }
    specs.push_back({std::string(column_tensor), type, core::Shape{-1, static_cast<std::int64_t>(columns.size())}});
  }
  return specs;
}

// The signature of a parsed MLmodel; empty when it has none.
Result<core::ModelSignature> SignatureOf(const YAML::Node& root) {
  core::ModelSignature signature;
  const YAML::Node s = root["signature"];
  if (!s || !s.IsMap()) return signature;
  try {
    if (s["inputs"] && s["inputs"].IsScalar()) {
      FERRY_ASSIGN_OR_RETURN(signature.inputs, SignatureSide(s["inputs"].as<std::string>(), "input", "input"));
    }
    if (s["outputs"] && s["outputs"].IsScalar()) {
      FERRY_ASSIGN_OR_RETURN(signature.outputs, SignatureSide(s["outputs"].as<std::string>(), "output", "predict"));
    }
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(fmt::format("MLmodel: signature: {}", e.what()));
  }
  return signature;
}

class MlflowBackend final : public Backend {
 public:
  std::string_view name() const override { return "mlflow"; }
  std::string_view Files() const override { return "MLmodel (an MLflow model folder)"; }
  bool Recognizes(const fs::path& dir) const override {
    std::error_code ec;
    return fs::is_regular_file(dir / "MLmodel", ec);
  }

  Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    FERRY_ASSIGN_OR_RETURN(const auto text, core::ReadWholeFile(options.version_dir / "MLmodel"));
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return core::InvalidArgument(fmt::format("MLmodel: not YAML: {}", e.what()));
    }
    const YAML::Node flavors = root["flavors"];
    if (!flavors || !flavors.IsMap()) return core::InvalidArgument("MLmodel: no flavors");
    auto file_of = [&](const YAML::Node& flavor, const char* key) -> Result<fs::path> {
      if (!flavor[key] || !flavor[key].IsScalar()) {
        return core::InvalidArgument(fmt::format("MLmodel: the flavor has no '{}'", key));
      }
      return options.version_dir / flavor[key].as<std::string>();
    };
    LoadOptions delegated = options;
    std::vector<std::string> names;
    for (const auto& f : flavors) names.push_back(f.first.as<std::string>());
    if (flavors["onnx"]) {
      FERRY_ASSIGN_OR_RETURN(delegated.model_file, file_of(flavors["onnx"], "data"));
      return HandOver(delegated, "onnx", "onnxruntime");
    }
    if (flavors["xgboost"]) {
      FERRY_ASSIGN_OR_RETURN(delegated.model_file, file_of(flavors["xgboost"], "data"));
      return HandOver(delegated, "xgboost", "xgboost");
    }
    FERRY_ASSIGN_OR_RETURN(const auto signature, SignatureOf(root));
    if (delegated.declared.inputs.empty()) delegated.declared.inputs = signature.inputs;
    if (delegated.declared.outputs.empty()) delegated.declared.outputs = signature.outputs;
    if (flavors["sklearn"]) {
      FERRY_ASSIGN_OR_RETURN(delegated.model_file, file_of(flavors["sklearn"], "pickled_model"));
      return HandOver(delegated, "sklearn", "sklearn");
    }
    if (const YAML::Node pyfunc = flavors["python_function"]) {
      const std::string loader = pyfunc["loader_module"] ? pyfunc["loader_module"].as<std::string>() : "";
      if (loader.empty() || loader.starts_with("mlflow.")) {
        return core::InvalidArgument(fmt::format("MLmodel: python_function with loader_module '{}' needs the mlflow "
                                                 "package; ferry serves the flavors onnx, xgboost, sklearn and "
                                                 "python_function with a loader_module of the model's own",
                                                 loader));
      }
      auto scalar = [&](const char* key) { return pyfunc[key] && pyfunc[key].IsScalar() ? pyfunc[key].as<std::string>() : ""; };
      if (delegated.declared.outputs.empty()) {
        delegated.declared.outputs.push_back({"predict", DataType::kFp64, core::Shape{-1, 1}});
      }
      if (delegated.declared.inputs.empty()) {
        return core::InvalidArgument("MLmodel: a python_function model needs a signature (or inputs in model.yaml)");
      }
      delegated.flavor = {{"loader_module", loader}, {"data", scalar("data")}, {"code", scalar("code")}};
      return HandOver(delegated, "python_function", "python");
    }
    return core::InvalidArgument(fmt::format("MLmodel: no flavor ferry serves (the model has: {}; ferry serves onnx, "
                                             "xgboost, sklearn and python_function)",
                                             fmt::join(names, ", ")));
  }

 private:
  // The model loaded by the backend that serves `flavor` (loading its plugin if need be).
  static Result<std::unique_ptr<BackendModel>> HandOver(const LoadOptions& options, std::string_view flavor,
                                                        std::string_view backend_name) {
    const Backend* backend = options.registry ? options.registry->Find(backend_name) : nullptr;
    if (!backend) {
      return core::Unavailable(fmt::format("MLmodel: the {} flavor needs the {} backend, which this server lacks",
                                           flavor, backend_name));
    }
    spdlog::info("model '{}' version {}: MLflow model, served through its {} flavor", options.model_name,
                 options.version, flavor);
    return backend->Load(options);
  }
};

}  // namespace

Result<core::ModelSignature> ParseMlflowSignature(std::string_view mlmodel_yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(mlmodel_yaml));
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(fmt::format("MLmodel: not YAML: {}", e.what()));
  }
  return SignatureOf(root);
}

std::unique_ptr<Backend> CreateMlflowBackend() { return std::make_unique<MlflowBackend>(); }

}  // namespace ferry::backends::mlflow
