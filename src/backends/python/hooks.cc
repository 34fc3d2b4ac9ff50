#include "backends/python/hooks.h"

#include <fmt/format.h>
#include <pybind11/stl.h>

#include "backends/python/interpreter.h"
#include "backends/python/numpy_bridge.h"

namespace ferry::backends::python {
namespace {

namespace py = pybind11;
using core::Result;

class HookedInstance final : public BackendInstance {
 public:
  HookedInstance(std::unique_ptr<BackendInstance> inner, const core::ModelSignature& signature, std::string where)
      : inner_(std::move(inner)), signature_(signature), where_(std::move(where)) {}

  // Calls the factories (GIL held): the per-event functions of this instance.
  Result<void> Build(const py::dict& factories, const py::object& config) {
    try {
      if (factories.contains("pre_transform")) pre_.reset(new py::object(factories["pre_transform"](config)));
      if (factories.contains("post_transform")) post_.reset(new py::object(factories["post_transform"](config)));
      if (factories.contains("predict")) {
        // The model as the predict factory sees it: this instance, called on its own thread.
        py::cpp_function model([this](py::object inputs) { return RunModel(inputs); });
        predict_.reset(new py::object(factories["predict"](config, model)));
      }
    } catch (py::error_already_set& e) {
      return core::InvalidArgument(fmt::format("a hook's factory raised {}", DescribeException(e, where_)));
    }
    return {};
  }

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes*) override {
    py::gil_scoped_acquire gil;
    std::string hook = "pre_transform";
    try {
      py::dict event;
      for (const auto& t : inputs) event[py::str(t.name())] = ToNumpy(t);
      py::object in = event;
      if (pre_) {
        in = (*pre_)(in);
        if (in.is_none()) return std::vector<core::Tensor>();  // skipped
      }
      hook = "predict";
      py::object out = predict_ ? (*predict_)(in) : RunModel(in);
      hook = "post_transform";
      if (post_) {
        out = (*post_)(out);
        if (out.is_none()) return std::vector<core::Tensor>();  // skipped
      }
      return OutputsFromPython(signature_, out, outputs, hook);  // no times: the scheduler measures the call
    } catch (py::error_already_set& e) {
      return UserError(e, hook, where_,
                       hook == "pre_transform" ? core::ErrorCode::kInvalidArgument : core::ErrorCode::kInternal);
    } catch (const std::exception& e) {
      return core::Internal(fmt::format("{}: {}", hook, e.what()));
    }
  }

 private:
  // The model itself on a dict of arrays (GIL held; released while the backend runs); raises
  // ValueError when the inputs do not fit, RuntimeError when the model fails.
  py::dict RunModel(const py::object& inputs) {
    if (!py::isinstance<py::dict>(inputs)) throw py::value_error("the model takes a dict of arrays by input name");
    const py::dict given = inputs;
    std::vector<core::Tensor> tensors;
    for (const auto& spec : signature_.inputs) {
      if (!given.contains(spec.name)) throw py::value_error(fmt::format("missing input '{}'", spec.name));
      auto t = FromNumpy(spec, given[py::str(spec.name)]);
      if (!t) throw py::value_error(t.error().message);
      tensors.push_back(std::move(*t));
    }
    std::vector<std::string> names;
    for (const auto& spec : signature_.outputs) names.push_back(spec.name);
    Result<std::vector<core::Tensor>> result;
    {
      py::gil_scoped_release release;
      result = inner_->Execute(tensors, names, nullptr);
    }
    if (!result) throw std::runtime_error(result.error().message);
    py::dict out;
    for (const auto& t : *result) out[py::str(t.name())] = ToNumpy(t).attr("copy")();  // owns its data
    return out;
  }

  std::unique_ptr<BackendInstance> inner_;
  const core::ModelSignature& signature_;
  const std::string where_;
  PyRef pre_, predict_, post_;
};

class HookedModel final : public BackendModel {
 public:
  HookedModel(std::unique_ptr<BackendModel> inner, PyRef factories, PyRef config, std::string where)
      : inner_(std::move(inner)), factories_(std::move(factories)), config_(std::move(config)), where_(std::move(where)) {}

  const core::ModelSignature& signature() const override { return inner_->signature(); }
  std::string_view platform() const override { return inner_->platform(); }
  std::vector<std::string> operations() const override { return inner_->operations(); }
  Result<std::string> Call(std::string_view operation, std::string_view body) override {
    return inner_->Call(operation, body);
  }

  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    FERRY_ASSIGN_OR_RETURN(auto inner, inner_->CreateInstance());
    auto instance = std::make_unique<HookedInstance>(std::move(inner), inner_->signature(), where_);
    py::gil_scoped_acquire gil;
    FERRY_RETURN_IF_ERROR(instance->Build(*factories_, *config_));
    return std::unique_ptr<BackendInstance>(std::move(instance));
  }

 private:
  std::unique_ptr<BackendModel> inner_;
  PyRef factories_, config_;
  std::string where_;
};

}  // namespace

Result<std::unique_ptr<BackendModel>> WithHooks(std::unique_ptr<BackendModel> model, const HookSpec& hooks,
                                                const LoadOptions& options) {
  if (auto started = EnsureInterpreter(); !started) return std::unexpected(started.error());
  const std::string where = fmt::format("model '{}' version {}", options.model_name, options.version);
  py::gil_scoped_acquire gil;
  try {
    py::dict specs;
    for (auto [kind, spec] : {std::pair{"pre_transform", &hooks.pre_transform}, std::pair{"predict", &hooks.predict},
                              std::pair{"post_transform", &hooks.post_transform}}) {
      if (!spec->empty()) specs[kind] = *spec;
    }
    const std::vector<std::string> folders{options.version_dir.string(), options.version_dir.parent_path().string()};
    PyRef factories(new py::object(Runtime().attr("hook_functions")(folders, specs)));
    PyRef config(new py::object(py::cast(options.parameters)));
    return std::unique_ptr<BackendModel>(
        new HookedModel(std::move(model), std::move(factories), std::move(config), where));
  } catch (py::error_already_set& e) {
    return core::InvalidArgument(DescribeException(e, where));
  }
}

}  // namespace ferry::backends::python
