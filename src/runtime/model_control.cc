#include "runtime/model_control.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "model/triton_config.h"
#include "runtime/version_builder.h"

namespace ferry::runtime {
namespace {

std::uint64_t TextFingerprint(std::string_view text) {
  std::uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash | 1;  // never 0, which means "no model.yaml"
}

std::filesystem::path StagingFolder(const std::filesystem::path& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  return std::filesystem::temp_directory_path(ec) / fmt::format("ferry-staging-{}", ::getpid());
}

void AppendVersionStates(const ServedModel& model, std::vector<ModelStatus>* states) {
  for (const auto& [v, version] : model.versions) {
    states->push_back({.name = model.name, .version = v, .state = version->state, .reason = version->reason});
  }
}

}  // namespace

ModelControl::ModelControl(Options options, ModelTable& table)
    : options_(std::move(options)), table_(table), registry_(backends::BackendRegistry::WithBuiltins()),
      staging_(StagingFolder(options_.staging_directory)) {}

ModelControl::~ModelControl() { Stop(); }

void ModelControl::Stop() {
  poller_ = {};  // request_stop + join
  loader_ = {};
  CollectRetired(/*wait_all=*/true);
}

void ModelControl::Enqueue(std::move_only_function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void ModelControl::Start(std::function<void()> started) {
  loader_ = std::jthread([this](std::stop_token stop) { LoaderLoop(stop); });
  Enqueue([this, started = std::move(started)]() mutable {
    auto scan = model::ScanRepository(options_.repository);
    if (!scan) {
      spdlog::error("{}", scan.error().message);
    } else {
      spdlog::info("model repository {}: {} model folder(s)", options_.repository.string(), scan->models.size());
      for (const auto& note : scan->ignored) spdlog::info("ignored {}", note);
      // Routers last, so that what they route to serves when they are built.
      std::vector<model::ModelDirectory> routers;
      for (auto& dir : scan->models) {
        if (!LoadsAtStart(dir.name)) continue;
        if (dir.config_file && model::IsRouterConfig(*dir.config_file)) {
          routers.push_back(std::move(dir));
          continue;
        }
        const std::string name = dir.name;
        (void)DoLoad(name, std::nullopt, std::move(dir));
      }
      for (auto& dir : routers) {
        const std::string name = dir.name;
        (void)DoLoad(name, std::nullopt, std::move(dir));
      }
      for (const auto& name : options_.startup_models) {
        if (name != "*" && options_.mode == ControlMode::kExplicit && !table_.Find(name)) {
          spdlog::warn("--load-model {}: no such model folder in the repository", name);
        }
      }
    }
    started();
    if (options_.mode == ControlMode::kPoll) {
      poller_ = std::jthread([this](std::stop_token stop) { PollLoop(stop); });
    }
  });
}

void ModelControl::Load(std::string name, LoadRequest request, Done done) {
  if (options_.mode != ControlMode::kExplicit) {
    return done(core::InvalidArgument(fmt::format(
        "loading and unloading models needs --model-control explicit (this server {})",
        options_.mode == ControlMode::kPoll ? "polls its repository" : "loads its repository at start only")));
  }
  {
    std::lock_guard lock(mutex_);
    loading_.insert(name);
  }
  Enqueue([this, name = std::move(name), request = std::move(request), done = std::move(done)]() mutable {
    done(LoadAsAsked(name, request));
  });
}

core::Result<void> ModelControl::LoadAsAsked(const std::string& name, const LoadRequest& request) {
  const auto previous = staged_.find(name);
  if (request.files.empty()) {
    auto result = DoLoad(name, request.config, std::nullopt);
    if (result && previous != staged_.end()) {  // the repository's folder serves again
      model::StagingArea::Remove(previous->second);
      staged_.erase(previous);
    }
    return result;
  }
  if (!request.config) {
    return core::InvalidArgument("file: parameters need the 'config' parameter too: the configuration of the "
                                 "model those files make (model.yaml or Triton's, as for Triton)");
  }
  if (!model::IsPlainName(name)) return core::InvalidArgument(fmt::format("'{}' is not a model name", name));
  FERRY_ASSIGN_OR_RETURN(const std::filesystem::path staged, staging_.Stage(name, request.files));
  auto dir = model::ScanModel(staged, name);
  if (!dir) {
    model::StagingArea::Remove(staged);
    return std::unexpected(dir.error());
  }
  auto result = DoLoad(name, request.config, std::move(*dir));
  if (!result) {
    model::StagingArea::Remove(staged);
    return result;
  }
  if (previous != staged_.end()) model::StagingArea::Remove(previous->second);
  staged_[name] = staged;
  spdlog::info("model '{}': loaded from {} file(s) given with the load", name, request.files.size());
  return result;
}

void ModelControl::Refresh(std::string name, Done done) {
  {
    std::lock_guard lock(mutex_);
    loading_.insert(name);
  }
  Enqueue([this, name = std::move(name), done = std::move(done)]() mutable { done(DoLoad(name, std::nullopt, std::nullopt)); });
}

void ModelControl::Unload(std::string name, Done done) {
  if (options_.mode != ControlMode::kExplicit) {
    return done(core::InvalidArgument("loading and unloading models needs --model-control explicit"));
  }
  Enqueue([this, name = std::move(name), done = std::move(done)]() mutable {
    if (!table_.Find(name)) return done(core::NotFound(fmt::format("model '{}' is not loaded", name)));
    DoUnload(name);
    done({});
  });
}

void ModelControl::LoaderLoop(std::stop_token stop) {
  while (true) {
    std::move_only_function<void()> task;
    {
      std::unique_lock lock(mutex_);
      // Wake for a task, or now and then to free retired versions that requests have let go.
      wake_.wait_for(lock, stop, std::chrono::milliseconds(retired_.empty() ? 1000 : 10),
                     [this] { return !tasks_.empty(); });
      if (stop.stop_requested()) return;
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
    }
    if (task) task();
    CollectRetired(false);
  }
}

void ModelControl::PollLoop(std::stop_token stop) {
  std::mutex sleep_mutex;
  std::condition_variable_any sleep;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(sleep_mutex);
      sleep.wait_for(lock, stop, options_.poll_interval, [] { return false; });
    }
    if (stop.stop_requested()) return;
    auto scan = model::ScanRepository(options_.repository);
    if (!scan) {
      spdlog::warn("poll: {}", scan.error().message);
      continue;
    }
    // What is stable: files unchanged since the previous scan.
    std::map<std::string, model::ModelDirectory> stable;
    std::map<std::string, Fingerprints> current;
    for (auto& dir : scan->models) {
      Fingerprints fp{.config = dir.config_fingerprint, .versions = dir.version_fingerprints};
      auto previous = previous_scan_.find(dir.name);
      current[dir.name] = fp;
      if (previous == previous_scan_.end() || previous->second.config != fp.config) continue;  // model.yaml moving
      model::ModelDirectory settled = dir;
      settled.versions.clear();
      settled.version_fingerprints.clear();
      for (const auto& [v, f] : fp.versions) {
        auto before = previous->second.versions.find(v);
        if (before != previous->second.versions.end() && before->second == f) {
          settled.versions.push_back(v);
          settled.version_fingerprints[v] = f;
        }
      }
      // A version folder still being written (new, or edited in place): wait for it, rather than
      // load the model without it (which would take an edited version out of service meanwhile).
      if (settled.versions.size() != fp.versions.size()) continue;
      stable.emplace(dir.name, std::move(settled));
    }
    previous_scan_ = std::move(current);
    Enqueue([this, stable = std::move(stable), present = previous_scan_]() mutable {
      for (auto& [name, dir] : stable) {
        const Fingerprints fp{.config = dir.config_fingerprint, .versions = dir.version_fingerprints};
        auto loaded = loaded_from_.find(name);
        if (loaded != loaded_from_.end() && loaded->second == fp) continue;
        spdlog::info("poll: model '{}' changed; loading", name);
        (void)DoLoad(name, std::nullopt, std::move(dir));
      }
      for (const auto& model : table_.All()) {
        if (!present.contains(model->name)) {
          spdlog::info("poll: model '{}' left the repository; unloading", model->name);
          DoUnload(model->name);
        }
      }
    });
  }
}

core::Result<void> ModelControl::DoLoad(const std::string& name, const std::optional<std::string>& config_override,
                                        std::optional<model::ModelDirectory> scanned) {
  struct Done {
    ModelControl* self;
    const std::string& name;
    ~Done() {
      std::lock_guard lock(self->mutex_);
      self->loading_.erase(name);
    }
  } done_loading{this, name};
  {
    std::lock_guard lock(mutex_);
    loading_.insert(name);
  }
  if (!scanned) {
    auto dir = model::ScanModel(options_.repository, name);
    if (!dir) return std::unexpected(dir.error());
    scanned = std::move(*dir);
  }
  const model::ModelDirectory& dir = *scanned;
  loaded_from_[name] = Fingerprints{.config = dir.config_fingerprint, .versions = dir.version_fingerprints};
  auto current = table_.Find(name);

  // A model-level failure keeps what serves and records why.
  auto fail = [&](std::string reason) -> core::Result<void> {
    auto failed = std::make_shared<ServedModel>();
    if (current) *failed = *current;
    failed->name = name;
    failed->error = reason;
    Retire(table_.Install(failed), failed.get());
    spdlog::warn("model '{}': UNAVAILABLE: {}", name, reason);
    return core::Unavailable(fmt::format("model '{}': {}", name, reason));
  };

  std::uint64_t config_fingerprint = dir.config_fingerprint;
  core::Result<model::ModelConfig> config;
  if (config_override) {
    // The client's configuration (model.yaml or Triton's ModelConfig JSON): a bad one is the
    // client's error, refused without touching what serves.
    auto given = model::ParseLoadConfig(*config_override, fmt::format("{} (load config)", name));
    if (!given) return std::unexpected(given.error());
    for (const auto& warning : given->warnings) spdlog::warn("model '{}': {}", name, warning);
    config = std::move(given->config);
    config_fingerprint = TextFingerprint(*config_override);
  } else if (dir.config_file) {
    config = model::LoadModelConfig(*dir.config_file);
  }
  if (!config) return fail(config.error().message);
  if (!config->name.empty() && config->name != name) {
    return fail(fmt::format("model.yaml names the model '{}' but its folder is '{}'", config->name, name));
  }
  config->name = name;
  // A pipeline or a router is its model.yaml: one version, 1, whatever folders are beside it.
  const bool defined_by_yaml = config->is_pipeline || config->is_router;
  const auto chosen = defined_by_yaml ? std::vector<std::int64_t>{1} : config->version_policy.Select(dir.versions);
  if (chosen.empty()) {
    return fail(dir.versions.empty() ? "no numeric version folder (expected <model>/1/...)"
                                     : fmt::format("version policy '{}' selects none of versions {}",
                                                   config->version_policy.ToString(), dir.versions));
  }

  if (options_.unload_first && current) {
    current.reset();  // our own reference would keep the old versions alive
    DoUnload(name);
    loaded_from_[name] = Fingerprints{.config = dir.config_fingerprint, .versions = dir.version_fingerprints};
    CollectRetired(/*wait_all=*/true);
  }
  const auto serving = current;
  std::vector<std::string> dependencies;  // the models a pipeline calls
  auto next = std::make_shared<ServedModel>();
  next->name = name;
  next->config = *config;
  std::vector<std::string> failures;  // of the versions built by this load
  bool built_ready = false;           // a version built by this load serves
  bool kept_previous = false;         // a version's previous build serves on, its new one refused
  for (std::int64_t v : chosen) {
    const std::uint64_t fingerprint = dir.version_fingerprints.count(v) ? dir.version_fingerprints.at(v) : 0;
    if (serving) {
      auto it = serving->versions.find(v);
      if (it != serving->versions.end() && it->second->state == ModelState::kReady &&
          it->second->fingerprint == fingerprint && it->second->config_fingerprint == config_fingerprint) {
        next->versions.emplace(v, it->second);  // unchanged: keep serving it as it is
        continue;
      }
    }
    const VersionBuild build{.config = &next->config,
                             .model_dir = dir.path,
                             .version = v,
                             .fingerprint = fingerprint,
                             .config_fingerprint = config_fingerprint,
                             .explain_limits = options_.explain_limits,
                             .inline_below = options_.inline_below,
                             .monitoring = options_.monitoring,
                             .monitor_sinks = options_.monitor_sinks};
    std::shared_ptr<ServedVersion> version;
    if (next->config.is_router) {
      const routing::Servable* previous = nullptr;
      if (serving) {
        if (auto it = serving->versions.find(v); it != serving->versions.end()) previous = it->second->servable.get();
      }
      std::vector<std::string> missing;
      version = BuildRouterVersion(build, options_.routing, previous, &missing);
      if (!missing.empty()) {
        waiting_[name] = Waiting{.targets = std::move(missing), .config_override = config_override};
      } else {
        waiting_.erase(name);
      }
    } else if (next->config.is_pipeline) {
      std::vector<std::string> missing;
      version = BuildPipelineVersion(build, *options_.routing.resolver, &missing);
      if (!missing.empty()) {
        waiting_[name] = Waiting{.targets = std::move(missing), .config_override = config_override};
      } else {
        waiting_.erase(name);
      }
      if (version->servable) dependencies = version->servable->Targets();
    } else {
      version = BuildModelVersion(build, registry_, options_.request_decoder);
    }
    if (version->state == ModelState::kReady) {
      spdlog::info("model '{}' version {}: READY", name, v);
      built_ready = true;
    } else if (auto kept = KeepServing(serving.get(), v, version->reason)) {
      // A failed build, of files, configuration or warm-up alike, never replaces the build that serves.
      spdlog::warn("model '{}' version {}: {}", name, v, kept->reason);
      failures.push_back(fmt::format("version {}: {}", v, version->reason));
      version = std::move(kept);
      kept_previous = true;
    } else {
      spdlog::warn("model '{}' version {}: UNAVAILABLE: {}", name, v, version->reason);
      failures.push_back(fmt::format("version {}: {}", v, version->reason));
    }
    next->versions.emplace(v, std::move(version));
  }
  // The builds that serve are the previous ones: so is the configuration they run with.
  if (kept_previous && !built_ready) next->config = serving->config;
  if (!next->HasReadyVersion() && serving && serving->HasReadyVersion()) {
    // Nothing new can serve: keep the versions that do, so traffic goes on.
    for (const auto& [v, version] : serving->versions) {
      if (version->state == ModelState::kReady) next->versions.emplace(v, version);
    }
    next->error = "the new versions failed to load; the previous ones keep serving";
    spdlog::warn("model '{}': {}", name, next->error);
  }
  Retire(table_.Install(next), next.get());
  RetryWaiting(name);
  if (options_.mode == ControlMode::kExplicit) LoadDependencies(name, dependencies);
  if (!failures.empty()) {
    std::vector<std::int64_t> serving_versions;
    for (const auto& [v, version] : next->versions) {
      if (version->state == ModelState::kReady) serving_versions.push_back(v);
    }
    return core::Unavailable(fmt::format("model '{}' failed to load: {}{}", name, fmt::join(failures, "; "),
                                         serving_versions.empty()
                                             ? std::string()
                                             : fmt::format(" (serving versions {})", serving_versions)));
  }
  return {};
}

std::shared_ptr<ServedVersion> ModelControl::KeepServing(const ServedModel* serving, std::int64_t v,
                                                         std::string_view refused) {
  if (!serving) return nullptr;
  auto it = serving->versions.find(v);
  if (it == serving->versions.end() || it->second->state != ModelState::kReady) return nullptr;
  auto kept = std::make_shared<ServedVersion>(*it->second);  // the same servable, and what it was built from
  kept->reason = fmt::format("the previous build serves; the new one was refused: {}", refused);
  return kept;
}

void ModelControl::LoadDependencies(const std::string& name, const std::vector<std::string>& dependencies) {
  for (const auto& dependency : dependencies) {
    bool loading = false;
    {
      std::lock_guard lock(mutex_);
      loading = loading_.contains(dependency);  // up the current chain of loads
    }
    if (loading || table_.Find(dependency)) continue;
    spdlog::info("model '{}' calls model '{}': loading it", name, dependency);
    if (auto loaded = DoLoad(dependency, std::nullopt, std::nullopt); !loaded) {
      spdlog::warn("model '{}': {}", name, loaded.error().message);
    }
  }
}

void ModelControl::RetryWaiting(const std::string& name) {
  std::vector<std::pair<std::string, std::optional<std::string>>> ready;
  for (const auto& [router, waiting] : waiting_) {
    if (std::find(waiting.targets.begin(), waiting.targets.end(), name) != waiting.targets.end()) {
      ready.emplace_back(router, waiting.config_override);
    }
  }
  for (const auto& [router, config_override] : ready) {
    // Built meanwhile by a retry for another target, or being built further up this chain.
    if (!waiting_.contains(router) || retrying_.contains(router)) continue;
    spdlog::info("model '{}' was loaded: building router '{}' again", name, router);
    retrying_.insert(router);
    (void)DoLoad(router, config_override, std::nullopt);
    retrying_.erase(router);
  }
}

void ModelControl::DoUnload(const std::string& name) {
  waiting_.erase(name);
  loaded_from_.erase(name);
  Retire(table_.Remove(name), nullptr);
  if (auto staged = staged_.find(name); staged != staged_.end()) {  // backends hold what they read
    model::StagingArea::Remove(staged->second);
    staged_.erase(staged);
  }
  spdlog::info("model '{}': unloaded", name);
}

void ModelControl::Retire(const std::shared_ptr<const ServedModel>& old, const ServedModel* kept) {
  if (!old) return;
  std::lock_guard lock(mutex_);
  for (const auto& [v, version] : old->versions) {
    const bool still_served =
        kept && kept->versions.contains(v) && kept->versions.at(v)->servable == version->servable;
    if (!still_served && version->servable) retired_.push_back(version->servable);
  }
}

void ModelControl::CollectRetired(bool wait_all) {
  using Clock = std::chrono::steady_clock;
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  while (true) {
    std::vector<routing::ServableHandle> free;
    bool left = false;
    {
      std::lock_guard lock(mutex_);
      for (auto it = retired_.begin(); it != retired_.end();) {
        if (it->use_count() == 1) {
          free.push_back(std::move(*it));
          it = retired_.erase(it);
        } else {
          ++it;
          left = true;
        }
      }
    }
    free.clear();  // runs what their queues hold, then frees the models: here, never on a serving thread
    if (!wait_all || !left) return;
    if (Clock::now() > give_up) {
      spdlog::warn("retired model versions are still in use after 60 s; freeing them later");
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ModelControl::LoadsAtStart(std::string_view name) const {
  if (options_.mode != ControlMode::kExplicit) return true;
  const auto& wanted = options_.startup_models;
  return std::find(wanted.begin(), wanted.end(), "*") != wanted.end() ||
         std::find(wanted.begin(), wanted.end(), name) != wanted.end();
}

std::vector<ModelStatus> ModelControl::Index() const {
  std::vector<ModelStatus> index;
  std::set<std::string> loading;
  {
    std::lock_guard lock(mutex_);
    loading = loading_;
  }
  std::set<std::string> names;
  if (auto scan = model::ScanRepository(options_.repository)) {
    for (const auto& dir : scan->models) names.insert(dir.name);
  }
  for (const auto& model : table_.All()) names.insert(model->name);
  for (const auto& name : names) {
    const auto model = table_.Find(name);
    if (loading.contains(name)) {
      index.push_back({.name = name, .version = 0, .state = ModelState::kLoading, .reason = "loading"});
    }
    if (!model) {
      if (!loading.contains(name)) {
        index.push_back({.name = name, .version = 0, .state = ModelState::kUnavailable, .reason = "unloaded"});
      }
      continue;
    }
    if (model->versions.empty() || (!model->error.empty() && !model->HasReadyVersion())) {
      index.push_back({.name = name, .version = 0, .state = ModelState::kUnavailable, .reason = model->error});
    }
    AppendVersionStates(*model, &index);
  }
  return index;
}

std::vector<ModelStatus> ModelControl::VersionStates() const {
  std::vector<ModelStatus> states;
  for (const auto& model : table_.All()) AppendVersionStates(*model, &states);
  return states;
}

}  // namespace ferry::runtime
