#include "runtime/version_builder.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "core/file.h"
#include "core/npy.h"
#include "model/model_loader.h"
#include "pipeline/pipeline.h"
#include "routing/model_servable.h"
#include "routing/pipeline_servable.h"
#include "routing/request_validation.h"

namespace ferry::runtime {
namespace {

// The mean of each column of `rows` (all of one width); empty for none.
std::vector<double> ColumnMeans(const std::vector<std::vector<double>>& rows) {
  if (rows.empty()) return {};
  std::vector<double> mean(rows.front().size(), 0.0);
  for (const auto& row : rows) {
    for (std::size_t j = 0; j < mean.size(); ++j) mean[j] += row[j];
  }
  for (double& m : mean) m /= static_cast<double>(rows.size());
  return mean;
}

// 'a', 'b' and 'c'
std::string Quoted(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += "'" + names[i] + "'";
  }
  return out;
}

// Synthetic inputs for one warm-up sample: -1 dims become the batch size (first) or 1.
core::Result<std::vector<core::Tensor>> WarmupInputs(const core::ModelSignature& signature,
                                                     const model::WarmupSample& sample) {
  std::mt19937 random(7);
  std::vector<core::Tensor> inputs;
  for (const auto& spec : signature.inputs) {
    core::Shape shape = spec.shape;
    for (std::size_t i = 0; i < shape.rank(); ++i) {
      if (shape[i] < 0) shape.mutable_dims()[i] = i == 0 ? sample.batch_size : 1;
    }
    if (spec.type == core::DataType::kBytes) {
      const auto count = shape.ElementCount().value_or(0);
      core::Tensor t = core::Tensor::AllocateBytes(spec.name, spec.type, std::move(shape), 4 * count);
      std::memset(t.bytes().data(), 0, t.byte_size());  // empty strings
      inputs.push_back(std::move(t));
      continue;
    }
    FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(spec.name, spec.type, std::move(shape)));
    std::memset(t.bytes().data(), 0, t.byte_size());
    if (sample.random) {
      if (spec.type == core::DataType::kFp32) {
        for (float& v : t.values<float>()) v = std::uniform_real_distribution<float>(0, 1)(random);
      } else if (spec.type == core::DataType::kFp64) {
        for (double& v : t.values<double>()) v = std::uniform_real_distribution<double>(0, 1)(random);
      } else if (spec.type != core::DataType::kFp16 && spec.type != core::DataType::kBf16) {
        auto bytes = t.bytes();  // small non-negative integers, or booleans
        for (std::size_t i = 0; i < bytes.size(); i += core::DataTypeSize(spec.type)) {
          bytes[i] = static_cast<std::byte>(random() % 2);
        }
      }
    }
    inputs.push_back(std::move(t));
  }
  return inputs;
}

// A warm-up request read from a file of the model folder, checked like any request.
core::Result<core::InferenceRequest> WarmupRequest(const model::ModelConfig& config,
                                                   const core::ModelSignature& signature,
                                                   const std::filesystem::path& model_dir,
                                                   const model::WarmupSample& sample, const RequestDecoder& decoder) {
  const auto path = model_dir / sample.request_file;
  FERRY_ASSIGN_OR_RETURN(const auto text, core::ReadWholeFile(path, "warm-up request"));
  if (!decoder) return core::MakeError(core::ErrorCode::kUnimplemented, "warm-up request files need a request decoder");
  FERRY_ASSIGN_OR_RETURN(auto request, decoder(text));
  FERRY_RETURN_IF_ERROR(routing::ValidateRequest(config.name, signature, config.max_batch_size, request));
  return request;
}

core::Result<void> Warmup(const model::ModelConfig& config, const core::ModelSignature& signature,
                          const std::filesystem::path& model_dir, const RequestDecoder& decoder,
                          std::vector<std::unique_ptr<backends::BackendInstance>>& instances) {
  for (std::size_t s = 0; s < config.warmup.size(); ++s) {
    const auto& sample = config.warmup[s];
    std::vector<std::string> outputs;
    std::vector<core::Tensor> inputs;
    if (!sample.request_file.empty()) {
      auto request = WarmupRequest(config, signature, model_dir, sample, decoder);
      if (!request) {
        return core::MakeError(request.error().code,
                               fmt::format("warm-up sample {} ({}): {}", s, sample.request_file, request.error().message));
      }
      for (const auto& wanted : request->outputs) outputs.push_back(wanted.name);
      inputs = std::move(request->inputs);
    } else {
      if (config.max_batch_size > 0 && sample.batch_size > config.max_batch_size) {
        return core::InvalidArgument(fmt::format("warm-up sample {}: batch_size {} exceeds max_batch_size {}", s,
                                                 sample.batch_size, config.max_batch_size));
      }
      FERRY_ASSIGN_OR_RETURN(inputs, WarmupInputs(signature, sample));
    }
    if (outputs.empty()) {
      for (const auto& spec : signature.outputs) outputs.push_back(spec.name);
    }
    for (auto& instance : instances) {
      for (int i = 0; i < sample.count; ++i) {
        auto result = instance->Execute(inputs, outputs, nullptr);
        if (!result) {
          return core::MakeError(result.error().code,
                                 fmt::format("warm-up sample {} failed: {}", s, result.error().message));
        }
      }
    }
  }
  return {};
}

// The background rows of explanations: model.yaml's explain.rows, or its explain.background file
// (.npy, in the model's folder), within --explain-max-background and --explain-max-samples.
core::Result<std::vector<std::vector<double>>> ExplainBackground(const model::ModelConfig& config,
                                                                 const std::filesystem::path& model_dir,
                                                                 const routing::ExplainLimits& limits) {
  std::vector<std::vector<double>> rows = config.explain_rows;
  if (!config.explain_background.empty()) {
    FERRY_ASSIGN_OR_RETURN(const auto bytes, core::ReadWholeFile(model_dir / config.explain_background,
                                                                 "explain.background"));
    auto parsed = core::ParseNpyRows(bytes);
    if (!parsed) {
      return core::InvalidArgument(fmt::format("explain.background {}: {}", config.explain_background,
                                               parsed.error().message));
    }
    rows = std::move(*parsed);  // at least one row of at least one number (ParseNpyRows refuses less)
  }
  if (rows.size() > limits.max_background) {
    return core::InvalidArgument(fmt::format("the explanation background has {} rows, more than {} "
                                             "(--explain-max-background)", rows.size(), limits.max_background));
  }
  if (config.explain_samples > limits.max_samples) {
    return core::InvalidArgument(fmt::format("explain.samples {} is more than {} (--explain-max-samples)",
                                             config.explain_samples, limits.max_samples));
  }
  return rows;
}

// Gives `servable` its monitoring stream when model.yaml's `monitoring` over ferry.yaml's asks
// for one; the reason it cannot (a sink that cannot be opened), or empty.
std::string AttachMonitor(const VersionBuild& build, std::string_view backend, routing::Servable& servable) {
  if (!build.monitor_sinks) return {};
  const model::ModelConfig& config = *build.config;
  static const observe::MonitorConfig kNone;
  const observe::MonitorConfig& defaults = build.monitoring ? *build.monitoring : kNone;
  if (config.monitoring_yaml.empty() && !defaults.active()) return {};
  const core::YamlReader reader(config.yaml_source.empty() ? config.name + "/model.yaml" : config.yaml_source);
  YAML::Node node;
  if (!config.monitoring_yaml.empty()) {
    auto loaded = reader.Load(config.monitoring_yaml);
    if (!loaded) return loaded.error().message;
    node = *loaded;
  }
  auto monitoring = observe::ParseMonitorConfig(node, reader, defaults);
  if (!monitoring) return monitoring.error().message;
  if (!monitoring->active()) return {};
  auto sink = build.monitor_sinks->For(*monitoring);
  if (!sink) return fmt::format("monitoring: {}", sink.error().message);
  servable.SetMonitor(std::make_shared<observe::Monitor>(
      std::move(*monitoring),
      observe::Monitor::Identity{.model = config.name, .version = build.version, .backend = std::string(backend)},
      std::move(*sink)));
  return {};
}

}  // namespace

std::shared_ptr<ServedVersion> BuildModelVersion(const VersionBuild& build, const backends::BackendRegistry& registry,
                                                 const RequestDecoder& decoder) {
  const model::ModelConfig& config = *build.config;
  auto version = std::make_shared<ServedVersion>();
  version->version = build.version;
  version->fingerprint = build.fingerprint;
  version->config_fingerprint = build.config_fingerprint;
  auto loaded = model::LoadVersion(registry, config, build.model_dir, build.version);
  if (!loaded) {
    version->reason = loaded.error().message;
    return version;
  }
  routing::ClassLabels labels;
  for (const auto& [output, file] : config.labels) {
    const bool known = std::any_of(loaded->signature.outputs.begin(), loaded->signature.outputs.end(),
                                   [&](const auto& spec) { return spec.name == output; });
    if (!known) {
      version->reason = fmt::format("model.yaml gives labels for '{}', which is not an output of the model", output);
      return version;
    }
    auto text = core::ReadWholeFile(build.model_dir / file, "the labels file");
    if (!text) {
      version->reason = fmt::format("output '{}': {}", output, text.error().message);
      return version;
    }
    labels[output] = routing::ParseLabels(*text);
  }
  std::vector<std::unique_ptr<backends::BackendInstance>> instances;
  for (int i = 0, n = model::InstanceCount(config, loaded->backend); i < n; ++i) {
    auto instance = loaded->model->CreateInstance();
    if (!instance) {
      version->reason = instance.error().message;
      return version;
    }
    instances.push_back(std::move(*instance));
  }
  if (auto warmed = Warmup(config, loaded->signature, build.model_dir, decoder, instances); !warmed) {
    version->reason = warmed.error().message;
    return version;
  }
  auto background = ExplainBackground(config, build.model_dir, build.explain_limits);
  if (!background) {
    version->reason = background.error().message;
    return version;
  }
  std::vector<sched::ExecuteFn> executors;
  for (auto& instance : instances) {
    executors.emplace_back([inst = std::move(instance)](std::span<const core::Tensor> in,
                                                        std::span<const std::string> out, core::ComputeTimes* times) {
      return inst->Execute(in, out, times);
    });
  }
  const auto& batching = config.dynamic_batching;
  auto scheduler = sched::Scheduler::Create(
      {.model_name = config.name,
       .model_version = build.version,
       .max_batch_size = config.max_batch_size,
       .batching = batching.enabled,
       .max_queue_delay = std::chrono::microseconds(batching.max_queue_delay_us),
       .preferred_batch_sizes = batching.preferred_batch_sizes,
       .max_queue_size = static_cast<std::size_t>(batching.max_queue_size),
       .default_timeout = std::chrono::microseconds(batching.default_timeout_us),
       .inline_below = build.inline_below},
      std::move(executors));
  auto servable = std::make_shared<routing::ModelServable>(
      routing::ModelServable::Options{.name = config.name,
                                      .version = build.version,
                                      .backend = std::move(loaded->backend),
                                      .model = std::move(loaded->model),
                                      .signature = std::move(loaded->signature),
                                      .max_batch_size = config.max_batch_size,
                                      .scheduler = std::move(scheduler),
                                      .labels = std::move(labels),
                                      .feature_names = config.feature_names,
                                      .explain_reference = ColumnMeans(*background),
                                      .kernel_shap = {.background = std::move(*background),
                                                      .samples = config.explain_samples,
                                                      .seed = config.explain_seed,
                                                      .batch_rows = config.max_batch_size,
                                                      .feature_names = config.feature_names,
                                                      .limits = build.explain_limits}});
  if (auto refused = AttachMonitor(build, servable->backend(), *servable); !refused.empty()) {
    version->reason = std::move(refused);
    return version;
  }
  version->servable = std::move(servable);
  version->state = ModelState::kReady;
  return version;
}

std::shared_ptr<ServedVersion> BuildPipelineVersion(const VersionBuild& build, const routing::Resolver& resolver,
                                                    std::vector<std::string>* missing) {
  const model::ModelConfig& config = *build.config;
  auto version = std::make_shared<ServedVersion>();
  version->version = build.version;
  version->config_fingerprint = build.config_fingerprint;
  auto pipeline = pipeline::Pipeline::Parse(config.yaml_text, config.yaml_source, config.name);
  if (!pipeline) {
    version->reason = pipeline.error().message;
    return version;
  }
  auto servable = std::make_shared<routing::PipelineServable>(config.name, build.version, std::move(*pipeline),
                                                                    resolver);
  if (auto cycle = routing::FindCycle(config.name, servable->Targets(), resolver)) {
    version->reason = fmt::format("pipeline '{}' would call itself: {}", config.name, *cycle);
    return version;
  }
  const std::filesystem::path repository = build.model_dir.parent_path();
  for (const auto& target : servable->Targets()) {
    std::error_code ec;
    if (!resolver.Resolve(target, 0) && !std::filesystem::is_directory(repository / target, ec)) {
      missing->push_back(target);
    }
  }
  if (!missing->empty()) {
    version->reason = fmt::format("its model steps call {}, not in the repository (the pipeline is built again when "
                                  "{} loaded)", Quoted(*missing), missing->size() == 1 ? "it is" : "they are");
    return version;
  }
  if (auto refused = AttachMonitor(build, servable->backend(), *servable); !refused.empty()) {
    version->reason = std::move(refused);
    return version;
  }
  version->servable = std::move(servable);
  version->state = ModelState::kReady;
  return version;
}

std::shared_ptr<ServedVersion> BuildRouterVersion(const VersionBuild& build, const routing::RouterEnvironment& environment,
                                                  const routing::Servable* previous, std::vector<std::string>* missing) {
  const model::ModelConfig& config = *build.config;
  auto version = std::make_shared<ServedVersion>();
  version->version = build.version;
  version->config_fingerprint = build.config_fingerprint;
  auto router = routing::BuildRouter({.name = config.name,
                                      .version = build.version,
                                      .yaml = config.yaml_text,
                                      .source = config.yaml_source,
                                      .previous = previous},
                                     environment, missing);
  if (!router) {
    version->reason = router.error().message;
    return version;
  }
  if (auto refused = AttachMonitor(build, (*router)->backend(), **router); !refused.empty()) {
    version->reason = std::move(refused);
    return version;
  }
  version->servable = std::move(*router);
  version->state = ModelState::kReady;
  return version;
}

}  // namespace ferry::runtime
