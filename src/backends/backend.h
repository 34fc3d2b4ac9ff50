// The backend interface: how ferry loads a model file and runs it, whatever the framework.
//
//   Backend          a framework adapter (ONNX Runtime, ...), registered once by name. It says
//                    whether a version folder holds a model of its kind and loads one.
//   BackendModel     one loaded model version: its signature read from the model file, and a
//                    factory for instances. Its const methods may be called from any thread.
//   BackendInstance  one executor of that model. The scheduler never calls Execute concurrently on
//                    the same instance; several instances of one model run in parallel.
//
// Ownership: the runtime owns models and instances through unique_ptr; an instance must not
// outlive its model. Exceptions of the framework never cross this interface: they become Errors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/explanation.h"
#include "core/inference.h"

namespace ferry::backends {

class BackendRegistry;

struct LoadOptions {
  std::string model_name;
  std::int64_t version = 0;
  std::filesystem::path version_dir;              // <repo>/<model>/<version>
  std::map<std::string, std::string> parameters;  // model.yaml `parameters`
  core::ModelSignature declared;                  // model.yaml `inputs` and `outputs` (empty: not given)
  // The model file when another backend names it (an MLflow MLmodel's flavor); empty: the
  // backend's own file names in version_dir.
  std::filesystem::path model_file;
  // What the backend handing the model over read for the receiver (MLflow's python_function
  // flavor: loader_module, data, code); empty otherwise.
  std::map<std::string, std::string> flavor;
  // Python models: run each instance in a worker process of its own (model.yaml `python: {workers:
  // N}`, python_worker.h); 0: in ferry's embedded interpreter. Other backends ignore it.
  int python_workers = 0;
  // The backends of this server, for a backend that hands a model to another (MLflow); may be null.
  const BackendRegistry* registry = nullptr;
};

class BackendInstance {
 public:
  virtual ~BackendInstance() = default;

  // Runs the model. `inputs` are checked against the signature by the caller (names, types and
  // shapes); `outputs` names the outputs wanted, in order, each a signature output. Returns one
  // tensor per wanted output, in that order. Fills `times` when it is not null.
  virtual core::Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs,
                                                          std::span<const std::string> outputs,
                                                          core::ComputeTimes* times) = 0;
};

class BackendModel {
 public:
  virtual ~BackendModel() = default;

  // Inputs and outputs as the model file declares them (-1 for dims it leaves open).
  virtual const core::ModelSignature& signature() const = 0;

  // The KServe `platform` string, e.g. "onnxruntime_onnx".
  virtual std::string_view platform() const = 0;

  virtual core::Result<std::unique_ptr<BackendInstance>> CreateInstance() = 0;

  // Operations the model serves besides inference, at POST /v2/models/{m}[/versions/{v}]/{name}
  // (a Python model's explain and op_<name> methods). `body` is the request's JSON; the answer
  // is JSON. Called from any thread, concurrently with instances.
  virtual std::vector<std::string> operations() const { return {}; }
  virtual core::Result<std::string> Call(std::string_view operation, std::string_view /*body*/) {
    return core::NotFound(std::string("no operation '") + std::string(operation) + "'");
  }

  // Exact feature contributions of `inputs` (checked against the signature, in its order) where the
  // model allows them (a tree ensemble's TreeSHAP, a linear model's terms): the columns of its one
  // 2-D input are the features; a linear model's contributions are against an all-zero reference
  // (the caller shifts them to another). Unimplemented for a model without an exact explainer.
  // Called from any thread, concurrently with instances.
  virtual bool ExplainsExactly() const { return false; }
  virtual core::Result<core::Explanation> Explain(std::span<const core::Tensor> /*inputs*/) const {
    return core::Unimplemented(std::string("the ") + std::string(platform()) + " backend has no exact explainer");
  }
  // As Explain, with each output's SHAP interaction values too (OutputContributions::interactions).
  virtual core::Result<core::Explanation> ExplainInteractions(std::span<const core::Tensor> /*inputs*/) const {
    return core::InvalidArgument(std::string("the ") + std::string(platform()) +
                                 " backend computes no interaction values (XGBoost models do)");
  }
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The name model.yaml uses (`backend: onnxruntime`).
  virtual std::string_view name() const = 0;

  // True when `version_dir` holds a model file this backend reads (for detection).
  virtual bool Recognizes(const std::filesystem::path& version_dir) const = 0;
  // The files it recognizes, for messages ("model.onnx").
  virtual std::string_view Files() const = 0;

  // Errors say what is wrong with the files (the caller adds which model and version).
  virtual core::Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const = 0;
};

}  // namespace ferry::backends
