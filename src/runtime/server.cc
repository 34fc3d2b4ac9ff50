#include "runtime/server.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/version.h"
#include "runtime/request_validation.h"

namespace ferry::runtime {

Server::Server(const Options& options)
    : options_(options),
      control_({.repository = options.model_repository,
                .mode = options.model_control,
                .poll_interval = options.poll_interval,
                .startup_models = options.startup_models,
                .unload_first = options.unload_first,
                .request_decoder = options.request_decoder},
               table_) {}

core::Result<std::unique_ptr<Server>> Server::Create(const Options& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.model_repository, ec)) {
    return core::NotFound(fmt::format("model repository '{}' is not a directory", options.model_repository.string()));
  }
  std::unique_ptr<Server> server(new Server(options));
  Server* raw = server.get();
  server->control_.Start([raw] {
    std::size_t ready = 0, models = 0;
    for (const auto& model : raw->table_.All()) {
      ++models;
      if (model->HasReadyVersion()) ++ready;
    }
    spdlog::info("startup loading done: {} of {} model(s) ready", ready, models);
    {
      std::lock_guard lock(raw->started_mutex_);
      raw->started_ = true;
    }
    raw->started_cv_.notify_all();
  });
  return server;
}

Server::~Server() = default;

bool Server::IsReady() const {
  if (!started_.load(std::memory_order_relaxed) || shutting_down_.load(std::memory_order_relaxed)) return false;
  if (!options_.strict_readiness) return true;
  for (const auto& model : table_.All()) {
    if (!model->HasReadyVersion()) return false;
  }
  return true;
}

bool Server::WaitUntilReady(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(started_mutex_);
  started_cv_.wait_for(lock, timeout, [this] { return started_.load(); });
  return IsReady();
}

void Server::LoadModel(std::string name, std::optional<std::string> config, ModelControl::Done done) {
  control_.Load(std::move(name), std::move(config), std::move(done));
}

void Server::UnloadModel(std::string name, ModelControl::Done done) { control_.Unload(std::move(name), std::move(done)); }

ServerMetadata Server::Metadata() const {
  return {.name = "ferry", .version = kFerryVersion, .extensions = {"binary_tensor_data", "statistics", "model_configuration", "model_repository"}};
}

core::Result<std::shared_ptr<ServedVersion>> Server::Resolve(std::string_view name, std::int64_t version) const {
  const auto model = table_.Find(name);
  if (!model) {
    if (!started_.load(std::memory_order_relaxed)) {
      return core::Unavailable(fmt::format("model '{}' is not loaded yet: the server is still starting", name));
    }
    return core::NotFound(fmt::format("unknown model '{}'", name));
  }
  const ServedModel& m = *model;
  if (m.versions.empty()) return core::Unavailable(fmt::format("model '{}' is unavailable: {}", name, m.error));
  if (version == 0) {
    for (auto v = m.versions.rbegin(); v != m.versions.rend(); ++v) {
      if (v->second->state == ModelState::kReady) return v->second;
    }
    const auto& latest = *m.versions.rbegin()->second;
    return core::Unavailable(fmt::format("model '{}' version {} is unavailable: {}", name, latest.version,
                                         latest.reason));
  }
  auto v = m.versions.find(version);
  if (v == m.versions.end()) {
    std::vector<std::int64_t> served;
    for (const auto& [n, _] : m.versions) served.push_back(n);
    return core::NotFound(fmt::format("model '{}' has no version {} being served (served: {})", name, version,
                                      served));
  }
  if (v->second->state != ModelState::kReady) {
    return core::Unavailable(fmt::format("model '{}' version {} is unavailable: {}", name, version, v->second->reason));
  }
  return v->second;
}

core::Result<ModelMetadata> Server::GetModelMetadata(std::string_view name, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto served, Resolve(name, version));
  ModelMetadata meta{.name = std::string(name), .versions = {}, .platform = std::string(served->platform()),
                     .signature = SignatureOf(*served), .record_fields = {}};
  if (served->pipeline) meta.record_fields = served->pipeline->record_fields();
  const auto model = table_.Find(name);
  if (!model) return meta;  // unloaded meanwhile
  for (const auto& [n, v] : model->versions) {
    if (v->state == ModelState::kReady && (version == 0 || n == version)) meta.versions.push_back(n);
  }
  return meta;
}

core::Result<bool> Server::IsModelReady(std::string_view name, std::int64_t version) const {
  auto served = Resolve(name, version);
  if (served) return true;
  if (served.error().code == core::ErrorCode::kUnavailable) return false;
  return std::unexpected(served.error());
}

std::vector<ModelStatus> Server::RepositoryIndex() const { return control_.Index(); }

void Server::CallOperation(std::string_view name, std::int64_t version, std::string operation, std::string body,
                           OperationDone done) {
  auto served = Resolve(name, version);
  if (!served) return done(std::unexpected(served.error()));
  if ((*served)->pipeline) {
    return done(core::NotFound(fmt::format("pipeline '{}' has no operation '{}'", name, operation)));
  }
  const auto ops = (*served)->loaded.model->operations();
  if (std::find(ops.begin(), ops.end(), operation) == ops.end()) {
    return done(core::NotFound(fmt::format("model '{}' has no operation '{}' (it has: {})", name, operation,
                                           ops.empty() ? "none" : fmt::format("{}", fmt::join(ops, ", ")))));
  }
  auto shared = std::make_shared<OperationDone>(std::move(done));
  const bool queued = operations_.Push([version = std::move(*served), operation = std::move(operation),
                                        body = std::move(body), shared] {
    (*shared)(version->loaded.model->Call(operation, body));
  });
  if (!queued) (*shared)(core::Unavailable("too many operations are waiting; try again later"));
}

core::Result<ModelConfiguration> Server::GetModelConfig(std::string_view name, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto served, Resolve(name, version));
  const auto model = table_.Find(name);
  if (!model) return core::NotFound(fmt::format("unknown model '{}'", name));
  return ModelConfiguration{.config = model->config,
                            .platform = std::string(served->platform()),
                            .backend = served->loaded.backend,
                            .signature = SignatureOf(*served)};
}

core::Result<std::vector<VersionStatistics>> Server::GetStatistics(std::string_view name, std::int64_t version) const {
  std::vector<std::shared_ptr<ServedVersion>> versions;
  if (!name.empty() && version > 0) {
    FERRY_ASSIGN_OR_RETURN(auto served, Resolve(name, version));
    versions.push_back(std::move(served));
  } else {
    if (!name.empty()) FERRY_RETURN_IF_ERROR(Resolve(name, 0));  // unknown or unavailable model
    for (const auto& m : table_.All()) {
      if (!name.empty() && m->name != name) continue;
      for (const auto& [n, v] : m->versions) {
        if (v->state == ModelState::kReady) versions.push_back(v);
      }
    }
  }
  std::vector<VersionStatistics> result;
  for (const auto& v : versions) {
    result.push_back({.name = v->name, .version = v->version, .stats = v->statistics().Snapshot(),
                      .queue_depth = v->queue_depth()});
  }
  return result;
}

void Server::Infer(core::InferenceRequest&& request, sched::InferCallback done) {
  auto served = Resolve(request.model_name, request.model_version);
  if (!served) return done(std::unexpected(std::move(served).error()));
  if ((*served)->pipeline) return InferPipeline(std::move(*served), std::move(request), std::move(done));
  const ServedVersion& version = **served;
  auto outputs = ValidateRequest(request.model_name, version.loaded.signature, version.max_batch_size, request);
  if (!outputs) {
    version.scheduler->statistics().RecordFailure(std::chrono::nanoseconds(0));
    return done(std::unexpected(std::move(outputs).error()));
  }
  // Inputs in signature order, so that requests naming them in another order still batch together.
  const auto& specs = version.loaded.signature.inputs;
  std::sort(request.inputs.begin(), request.inputs.end(), [&](const core::Tensor& a, const core::Tensor& b) {
    auto index = [&](const core::Tensor& t) {
      return std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == t.name(); }) - specs.begin();
    };
    return index(a) < index(b);
  });
  sched::Scheduler::Job job{.request = std::move(request), .outputs = std::move(*outputs), .done = std::move(done)};
  if (auto queued = version.scheduler->Submit(std::move(job)); !queued) {
    version.scheduler->statistics().RecordFailure(std::chrono::nanoseconds(0));
    job.done(std::unexpected(std::move(queued).error()));
  }
}

void Server::AddMetricsSource(std::function<void(std::string&)> render) {
  std::lock_guard lock(metrics_mutex_);
  metrics_sources_.push_back(std::move(render));
}

void Server::RenderMetricsSources(std::string& out) const {
  std::lock_guard lock(metrics_mutex_);
  for (const auto& render : metrics_sources_) render(out);
}

core::ModelSignature Server::SignatureOf(const ServedVersion& version) const {
  if (!version.pipeline) return version.loaded.signature;
  return {.inputs = version.pipeline->input_tensors(), .outputs = version.pipeline->OutputSpecs(*this)};
}

core::Result<pipeline::ModelInfo> Server::Describe(std::string_view model, std::int64_t version) const {
  FERRY_ASSIGN_OR_RETURN(auto served, Resolve(model, version));
  if (served->pipeline) {
    return core::InvalidArgument(fmt::format("'{}' is a pipeline; a model step runs a model", model));
  }
  return pipeline::ModelInfo{.max_batch_size = served->max_batch_size, .signature = served->loaded.signature};
}

namespace {

using Clock = std::chrono::steady_clock;

// Counts one pipeline call in the pipeline's own statistics.
void Record(const ServedVersion& version, Clock::time_point start, std::size_t rows, bool ok) {
  const auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  if (!ok) return version.statistics().RecordFailure(total);
  const core::ComputeTimes times{.input = {}, .infer = total, .output = {}};
  version.statistics().RecordExecution(rows, times);
  version.statistics().RecordSuccess(std::chrono::nanoseconds(0), times, total);
}

}  // namespace

void Server::InferPipeline(std::shared_ptr<ServedVersion> version, core::InferenceRequest&& request,
                           sched::InferCallback done) {
  const auto start = Clock::now();
  auto frame = pipeline::Frame::FromTensors(std::move(request.inputs));
  if (frame && frame->rows == 0) frame = core::InvalidArgument("the inputs have no rows");
  if (!frame) {
    Record(*version, start, 0, false);
    return done(std::unexpected(std::move(frame).error()));
  }
  std::vector<std::string> wanted;
  for (const auto& output : request.outputs) wanted.push_back(output.name);
  const pipeline::Pipeline& steps = *version->pipeline;
  steps.RunTensors(
      std::move(*frame), *this,
      [version, start, wanted = std::move(wanted), name = std::move(request.model_name), id = std::move(request.id),
       done = std::move(done)](core::Result<pipeline::Frame> out) mutable {
        auto fail = [&](core::Error error) {
          Record(*version, start, 0, false);
          done(std::unexpected(std::move(error)));
        };
        if (!out) return fail(std::move(out).error());
        for (std::size_t row = 0; row < out->rows; ++row) {
          const auto& status = out->status[row];
          if (status.state == pipeline::RowStatus::State::kLive) continue;
          return fail(core::Error{
              core::ErrorCode::kInvalidArgument,
              status.state == pipeline::RowStatus::State::kRejected
                  ? fmt::format("row {} was rejected by step '{}': {}", row, status.step, status.error)
                  : fmt::format("row {} was skipped by step '{}'; /infer answers every row (/predict leaves skipped "
                                "records out)",
                                row, status.step)});
        }
        auto tensors = version->pipeline->AnswerTensors(*out);
        if (!tensors) return fail(std::move(tensors).error());
        core::InferenceResponse response{.model_name = std::move(name), .model_version = version->version,
                                         .id = std::move(id), .parameters = {}, .outputs = {}};
        if (wanted.empty()) {
          response.outputs = std::move(*tensors);
        } else {
          for (const auto& w : wanted) {
            auto it = std::find_if(tensors->begin(), tensors->end(), [&](const auto& t) { return t.name() == w; });
            if (it == tensors->end()) {
              return fail(core::Error{core::ErrorCode::kInvalidArgument,
                                      fmt::format("unknown output '{}' of pipeline '{}'", w, response.model_name)});
            }
            response.outputs.push_back(std::move(*it));
          }
        }
        Record(*version, start, out->rows, true);
        done(std::move(response));
      });
}

void Server::Predict(std::string_view name, std::int64_t version, std::vector<pipeline::Record> records,
                     PredictDone done) {
  auto served = Resolve(name, version);
  if (!served) return done(std::unexpected(std::move(served).error()));
  if (!(*served)->pipeline) {
    return done(core::InvalidArgument(fmt::format(
        "model '{}' is not a pipeline: /predict takes records for pipelines (model.yaml `pipeline:`); send tensors "
        "to /v2/models/{}/infer",
        name, name)));
  }
  const auto start = Clock::now();
  const pipeline::Pipeline& steps = *(*served)->pipeline;
  steps.Run(pipeline::Frame::FromRecords(std::move(records)), *this,
            [version = std::move(*served), start, done = std::move(done)](core::Result<pipeline::Frame> out) mutable {
              if (!out) {
                Record(*version, start, 0, false);
                return done(std::unexpected(std::move(out).error()));
              }
              Record(*version, start, out->rows, true);
              done(Prediction{.pipeline = version->pipeline, .frame = std::move(*out)});
            });
}

}  // namespace ferry::runtime
