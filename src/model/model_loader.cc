#include "model/model_loader.h"

#include <algorithm>
#include <fmt/format.h>

#include "backends/python/python_plugin_client.h"

namespace ferry::model {
namespace {

const core::TensorSpec* FindSpec(const std::vector<core::TensorSpec>& specs, std::string_view name) {
  auto it = std::find_if(specs.begin(), specs.end(), [&](const core::TensorSpec& s) { return s.name == name; });
  return it == specs.end() ? nullptr : &*it;
}

// Checks declared specs against the model's; returns the declared ones with dims that model.yaml
// left open (-1) filled in from the model where the model fixes them.
core::Result<std::vector<core::TensorSpec>> Reconcile(std::string_view side,
                                                      const std::vector<core::TensorSpec>& declared,
                                                      const std::vector<core::TensorSpec>& actual) {
  std::vector<core::TensorSpec> result;
  for (const core::TensorSpec& spec : declared) {
    const core::TensorSpec* real = FindSpec(actual, spec.name);
    if (!real) {
      std::string names;
      for (const auto& a : actual) names += (names.empty() ? "" : ", ") + a.name;
      return core::InvalidArgument(fmt::format("model.yaml declares {} '{}', which the model file does not have "
                                               "(its {}s: {})", side, spec.name, side, names));
    }
    if (real->type != spec.type) {
      return core::InvalidArgument(fmt::format("model.yaml declares {} '{}' as {}, the model file has {}", side,
                                               spec.name, core::DataTypeName(spec.type),
                                               core::DataTypeName(real->type)));
    }
    bool compatible = real->shape.rank() == spec.shape.rank();
    core::TensorSpec merged = spec;
    for (std::size_t i = 0; compatible && i < spec.shape.rank(); ++i) {
      const auto want = spec.shape[i], have = real->shape[i];
      if (want >= 0 && have >= 0 && want != have) compatible = false;
      if (want < 0 && have >= 0) merged.shape.mutable_dims()[i] = have;
    }
    if (!compatible) {
      return core::InvalidArgument(fmt::format("model.yaml declares {} '{}' with shape {}, the model file has {}",
                                               side, spec.name, spec.shape.ToString(),
                                               real->shape.ToString()));
    }
    result.push_back(std::move(merged));
  }
  return result;
}

}  // namespace

core::Result<core::ModelSignature> ResolveSignature(const ModelConfig& config, const core::ModelSignature& model) {
  core::ModelSignature served = model;
  if (!config.inputs.empty()) {
    FERRY_ASSIGN_OR_RETURN(served.inputs, Reconcile("input", config.inputs, model.inputs));
    for (const auto& input : model.inputs) {
      if (!FindSpec(served.inputs, input.name)) {
        return core::InvalidArgument(fmt::format("model input '{}' is missing from model.yaml inputs "
                                                 "(list every input, or none)", input.name));
      }
    }
  }
  if (!config.outputs.empty()) {
    FERRY_ASSIGN_OR_RETURN(served.outputs, Reconcile("output", config.outputs, model.outputs));
  }
  if (config.max_batch_size > 0) {
    for (const auto* side : {&served.inputs, &served.outputs}) {
      for (const auto& spec : *side) {
        if (spec.shape.rank() == 0 || spec.shape[0] != core::Shape::kVariable) {
          return core::InvalidArgument(fmt::format(
              "max_batch_size {} needs a variable first (batch) dim, but '{}' has shape {}", config.max_batch_size,
              spec.name, spec.shape.ToString()));
        }
      }
    }
  }
  return served;
}

core::Result<LoadedVersion> LoadVersion(const backends::BackendRegistry& registry, const ModelConfig& config,
                                        const std::filesystem::path& model_dir, std::int64_t version) {
  const auto version_dir = model_dir / std::to_string(version);
  const backends::Backend* backend = nullptr;
  if (!config.backend.empty()) {
    backend = registry.Find(config.backend);
    if (!backend) {
      return core::InvalidArgument(fmt::format("unknown backend '{}' (ferry's backends: {})", config.backend,
                                               registry.Names()));
    }
  } else {
    backend = registry.Detect(version_dir);
    if (!backend) {
      return core::InvalidArgument(fmt::format("no model file that a backend recognizes in {} (looked for: {}; or "
                                               "name one with `backend:` in model.yaml)",
                                               version_dir.string(), registry.FilesHint()));
    }
  }
  backends::LoadOptions options{.model_name = config.name, .version = version, .version_dir = version_dir,
                                .parameters = config.parameters,
                                .declared = {.inputs = config.inputs, .outputs = config.outputs},
                                .python_workers = config.python_workers,
                                .registry = &registry};
  FERRY_ASSIGN_OR_RETURN(auto model, backend->Load(options));
  if (config.python_workers > 0 && model->platform() != "python" && model->platform() != "sklearn" &&
      model->platform() != "mlflow") {
    return core::InvalidArgument(fmt::format("python.workers is for Python models (backend python or sklearn, or an "
                                             "MLflow python flavor); this one is served by {}", model->platform()));
  }
  if (!config.pre_transform.empty() || !config.predict.empty() || !config.post_transform.empty()) {
    FERRY_ASSIGN_OR_RETURN(model, backends::python::WithHooksFromPlugin(
                                      std::move(model), {config.pre_transform, config.predict, config.post_transform},
                                      options));
  }
  FERRY_ASSIGN_OR_RETURN(auto signature, ResolveSignature(config, model->signature()));
  return LoadedVersion{.version = version, .backend = std::string(backend->name()), .model = std::move(model),
                       .signature = std::move(signature)};
}

}  // namespace ferry::model
