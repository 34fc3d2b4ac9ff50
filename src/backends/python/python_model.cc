#include "backends/python/python_model.h"

#include <fmt/format.h>
#include <pybind11/eval.h>
#include <pybind11/stl.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>

#include "backends/python/interpreter.h"
#include "backends/python/numpy_bridge.h"
#include "backends/python/python_worker.h"

namespace ferry::backends::python {
namespace {

namespace py = pybind11;
using core::Result;

struct Hooks {
  bool preprocess = false, validate = false, postprocess = false;
  std::vector<std::string> operations;  // explain, then op_<name> as <name>
};

class PythonInstance final : public BackendInstance {
 public:
  PythonInstance(PyRef object, const core::ModelSignature& signature, const Hooks& hooks, bool pass_outputs,
                 std::string where)
      : object_(std::move(object)), signature_(signature), hooks_(hooks), pass_outputs_(pass_outputs),
        where_(std::move(where)) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes* times) override {
    const auto start = std::chrono::steady_clock::now();
    py::gil_scoped_acquire gil;
    py::object& model = *object_;
    std::string hook = "the call";
    try {
      py::dict args;
      std::vector<py::array> views;
      for (const auto& t : inputs) {
        views.push_back(ToNumpy(t));
        args[py::str(t.name())] = views.back();
      }
      py::object in = args;
      hook = "preprocess";
      if (hooks_.preprocess) in = model.attr("preprocess")(in);
      hook = "validate";
      if (hooks_.validate) model.attr("validate")(in);
      hook = "predict";
      py::object out = pass_outputs_ ? model.attr("predict")(in, py::cast(std::vector<std::string>(outputs.begin(), outputs.end())))
                                     : model.attr("predict")(in);
      hook = "postprocess";
      if (hooks_.postprocess) out = model.attr("postprocess")(out);
      auto result = OutputsFromPython(signature_, out, outputs, hooks_.postprocess ? "postprocess" : "predict");
      WarnIfKept(views);
      if (times) times->infer = std::chrono::steady_clock::now() - start;
      return result;
    } catch (py::error_already_set& e) {
      const bool judged = hook == "preprocess" || hook == "validate";
      return UserError(e, hook, where_, judged ? core::ErrorCode::kInvalidArgument : core::ErrorCode::kInternal);
    } catch (const std::exception& e) {
      return core::Internal(fmt::format("{}: {}", hook, e.what()));
    }
  }

 private:
  // An input view kept past the call would read a buffer ferry reuses: say so, once.
  void WarnIfKept(const std::vector<py::array>& views) {
    for (const auto& v : views) {
      if (v.ref_count() > 2 && !warned_) {  // ours, and the dict's
        warned_ = true;
        spdlog::warn("{}: the model keeps an input array after the call; inputs are views of ferry's buffers, "
                     "valid during the call only: keep a copy (numpy.array(x)) instead",
                     where_);
      }
    }
  }

  PyRef object_;
  const core::ModelSignature& signature_;
  const Hooks& hooks_;
  const bool pass_outputs_;
  const std::string where_;
  bool warned_ = false;
};

// An instance run by a worker process (python_worker.h): the batch goes there and back.
class WorkerInstance final : public BackendInstance {
 public:
  WorkerInstance(std::unique_ptr<PythonWorker> worker, WorkerLoad load, std::string where)
      : worker_(std::move(worker)), load_(std::move(load)), where_(std::move(where)) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes* times) override {
    const auto start = std::chrono::steady_clock::now();
    if (!worker_) {  // the replacement could not even be spawned: try again
      FERRY_ASSIGN_OR_RETURN(worker_, PythonWorker::Spawn(load_, where_));
    }
    auto answer = worker_->Call(EncodeWorkerExecute(inputs, outputs));
    if (!answer) {
      // Dead (or never loaded): its batch fails with the reason; a replacement starts loading
      // now, and the next batch waits for it.
      auto replacement = PythonWorker::Spawn(load_, where_);
      worker_ = replacement ? std::move(*replacement) : nullptr;
      return std::unexpected(std::move(answer).error());
    }
    FERRY_ASSIGN_OR_RETURN(auto reply, DecodeWorkerReply(*answer));
    if (times) times->infer = std::chrono::steady_clock::now() - start;
    return std::move(reply.outputs);
  }

 private:
  std::unique_ptr<PythonWorker> worker_;  // null only while a replacement cannot be spawned
  const WorkerLoad load_;
  const std::string where_;
};

class PythonModel final : public BackendModel {
 public:
  PythonModel(PyRef factory, PyRef first, core::ModelSignature signature, Hooks hooks, PythonFactory spec,
              std::string model_name, std::string where, std::optional<WorkerLoad> workers)
      : factory_(std::move(factory)), first_(std::move(first)), signature_(std::move(signature)),
        hooks_(std::move(hooks)), spec_(std::move(spec)), model_name_(std::move(model_name)), where_(std::move(where)),
        workers_(std::move(workers)) {}

  const core::ModelSignature& signature() const override { return signature_; }
  std::string_view platform() const override { return spec_.platform; }

  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    if (workers_) {
      FERRY_ASSIGN_OR_RETURN(auto worker, PythonWorker::Start(*workers_, where_));
      return std::unique_ptr<BackendInstance>(new WorkerInstance(std::move(worker), *workers_, where_));
    }
    std::lock_guard lock(mu_);
    PyRef object;
    if (!instances_++) {
      // The first instance gets the object loaded at Load (operations use it too).
      py::gil_scoped_acquire gil;
      object.reset(new py::object(*first_));
    } else {
      py::gil_scoped_acquire gil;
      try {
        object.reset(new py::object((*factory_)()));
      } catch (py::error_already_set& e) {
        return UserError(e, "load", where_);
      }
    }
    return std::unique_ptr<BackendInstance>(
        new PythonInstance(std::move(object), signature_, hooks_, spec_.pass_outputs, where_));
  }

  std::vector<std::string> operations() const override { return hooks_.operations; }

  Result<std::string> Call(std::string_view operation, std::string_view body) override {
    if (std::find(hooks_.operations.begin(), hooks_.operations.end(), operation) == hooks_.operations.end()) {
      return core::NotFound(fmt::format("model '{}' has no operation '{}'", model_name_, operation));
    }
    py::gil_scoped_acquire gil;
    try {
      return Runtime().attr("call_operation")(*first_, model_name_, std::string(operation), py::bytes(std::string(body)))
          .cast<std::string>();
    } catch (py::error_already_set& e) {
      if (e.matches(Runtime().attr("Rejected"))) {
        return core::InvalidArgument(py::str(e.value()).cast<std::string>());
      }
      return UserError(e, operation == "explain" ? "explain" : fmt::format("op_{}", operation), where_);
    } catch (const std::exception& e) {
      return core::Internal(fmt::format("{}: {}", operation, e.what()));
    }
  }

 private:
  PyRef factory_, first_;
  core::ModelSignature signature_;
  Hooks hooks_;
  PythonFactory spec_;
  std::string model_name_, where_;
  std::optional<WorkerLoad> workers_;  // set: instances are worker processes loading this (with signature_)
  std::mutex mu_;
  int instances_ = 0;
};

// The signature from signature(): ([(name, dtype, shape)...], [...]).
Result<core::ModelSignature> SignatureOf(const py::object& object) {
  core::ModelSignature signature;
  auto [inputs, outputs] = object.attr("signature")().cast<std::pair<py::list, py::list>>();
  for (auto [list, into] : {std::pair{inputs, &signature.inputs}, std::pair{outputs, &signature.outputs}}) {
    for (py::handle item : list) {
      auto [name, dtype, shape] = item.cast<std::tuple<std::string, std::string, std::vector<std::int64_t>>>();
      FERRY_ASSIGN_OR_RETURN(const auto type, FromNumpyType(dtype));
      into->push_back({name, type, core::Shape(shape)});
    }
  }
  return signature;
}

}  // namespace

Result<std::unique_ptr<BackendModel>> LoadPythonModel(const LoadOptions& options, const PythonFactory& spec) {
  if (auto started = EnsureInterpreter(); !started) return std::unexpected(started.error());
  const std::string where = fmt::format("model '{}' version {}", options.model_name, options.version);
  py::gil_scoped_acquire gil;
  try {
    py::dict kwargs;
    for (const auto& [k, v] : spec.kwargs) kwargs[py::str(k)] = v;
    if (spec.function == "user_model") kwargs["params"] = py::cast(options.parameters);
    PyRef factory, first;
    try {
      factory.reset(new py::object(Runtime().attr(spec.function.c_str())(**kwargs)));
      first.reset(new py::object((*factory)()));
    } catch (py::error_already_set& e) {
      return core::InvalidArgument(DescribeException(e, where));
    }
    const py::object& object = *first;
    if (py::hasattr(object, "load_warnings")) {  // what loads but will not serve well
      for (py::handle warning : object.attr("load_warnings")) spdlog::warn("{}: {}", where, warning.cast<std::string>());
    }
    Hooks hooks;
    hooks.preprocess = py::hasattr(object, "preprocess");
    hooks.validate = py::hasattr(object, "validate");
    hooks.postprocess = py::hasattr(object, "postprocess");
    if (py::hasattr(object, "explain")) hooks.operations.push_back("explain");
    for (py::handle name : py::module_::import("builtins").attr("dir")(object)) {
      const auto text = name.cast<std::string>();
      if (text.starts_with("op_") && text.size() > 3) hooks.operations.push_back(text.substr(3));
    }
    core::ModelSignature signature = options.declared;
    if (signature.inputs.empty() || signature.outputs.empty()) {
      if (!py::hasattr(object, "signature")) {
        return core::InvalidArgument("a Python model needs `inputs` and `outputs` in model.yaml");
      }
      FERRY_ASSIGN_OR_RETURN(auto own, SignatureOf(object));
      if (signature.inputs.empty()) signature.inputs = std::move(own.inputs);
      if (signature.outputs.empty()) signature.outputs = std::move(own.outputs);
    }
    if (!hooks.operations.empty()) {
      spdlog::info("{}: Python operations: {}", where, fmt::join(hooks.operations, ", "));
    }
    std::optional<WorkerLoad> workers;
    if (options.python_workers > 0) {
      workers = WorkerLoad{.model_name = options.model_name, .version = options.version,
                           .version_dir = options.version_dir.string(), .model_file = options.model_file.string(),
                           .parameters = options.parameters, .flavor = options.flavor, .function = spec.function,
                           .kwargs = spec.kwargs, .pass_outputs = spec.pass_outputs, .platform = spec.platform,
                           .signature = signature};
      spdlog::info("{}: {} python worker process(es)", where, options.python_workers);
    }
    return std::unique_ptr<BackendModel>(new PythonModel(std::move(factory), std::move(first), std::move(signature),
                                                         std::move(hooks), spec, options.model_name, where,
                                                         std::move(workers)));
  } catch (py::error_already_set& e) {
    return core::InvalidArgument(DescribeException(e, where));
  } catch (const std::exception& e) {
    return core::InvalidArgument(fmt::format("{}: {}", where, e.what()));
  }
}

}  // namespace ferry::backends::python
