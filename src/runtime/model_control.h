// ModelControl: loads, reloads and unloads the models of the repository while the server serves.
//
// Modes (`ferry serve --model-control`):
//   none      load every model at start, then nothing;
//   poll      as none, then rescan every poll interval and apply what changed: new and removed
//             models, new and removed versions, changed files, changed model.yaml;
//   explicit  load the startup models (names or "*"), then only what Load/Unload ask for.
//
// A load runs on the loader thread (one, so loads never compete with each other or take serving
// threads): the new or changed versions are built and warmed up beside what serves, then the
// model is swapped in at once; unchanged versions are kept as they are. Replaced versions are
// retired: the loader destroys each once no request holds it, after its queue has run. A build
// that fails -- files, model.yaml, warm-up alike -- never replaces the build that serves: that
// version serves on, and the index says which build serves and why the new one was refused; if
// every new version fails, the versions that were serving keep serving. With `unload_first`, a model
// is taken out of service and freed before it is loaded again (for models too large to hold
// twice).
//
// Routers and pipelines call other models by name. A router whose targets do not serve yet, or
// a pipeline whose model steps call models the repository does not have, is UNAVAILABLE with the
// reason, and is built again each time one of them is loaded (so that its reason stays current);
// at start, routers are loaded after everything else. In explicit mode, loading a pipeline also
// loads the models it calls.
//
// Polling considers a model only once its model.yaml and every version folder are unchanged
// across two scans in a row, so a version being copied in, or edited in place, is not loaded
// half-written.
//
// Thread safety: every public method may be called from any thread; `done` callbacks run on the
// loader thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend_registry.h"
#include "core/error.h"
#include "model/repository.h"
#include "model/staged_files.h"
#include "runtime/model_table.h"
#include "runtime/version_builder.h"

namespace ferry::runtime {

enum class ControlMode { kNone, kPoll, kExplicit };

// What a load asks for beyond the model's name: its configuration (model.yaml text or Triton's
// ModelConfig JSON) instead of the folder's model.yaml, and files that replace the model's folder
// (Triton's `file:<version>/<path>` parameters; they need `config`).
struct LoadRequest {
  std::optional<std::string> config;
  std::vector<model::ModelFile> files;
};

struct ModelStatus {
  std::string name;
  std::int64_t version = 0;  // 0 for an entry about the model as a whole
  ModelState state = ModelState::kUnavailable;
  std::string reason;        // why it is not READY
};

class ModelControl {
 public:
  struct Options {
    std::filesystem::path repository;
    ControlMode mode = ControlMode::kNone;
    std::chrono::milliseconds poll_interval{5000};
    std::vector<std::string> startup_models;  // explicit mode: names to load at start; "*" for all
    bool unload_first = false;                // free a model before loading it again
    RequestDecoder request_decoder;           // for warm-up request files (the frontend's codec)
    routing::RouterEnvironment routing;       // what pipelines and routers resolve names with
    // Where files pushed with a load are written (a folder of its own, removed at Stop()).
    std::filesystem::path staging_directory;
    routing::ExplainLimits explain_limits;  // what an explanation may cost (ferry serve --explain-max-*)
    std::chrono::microseconds inline_below{0};  // Server::Options::inline_below
    const observe::MonitorConfig* monitoring = nullptr;  // Server::Options::monitoring
    observe::MonitorSinks* monitor_sinks = nullptr;      // the server's
  };
  using Done = std::move_only_function<void(core::Result<void>)>;

  ModelControl(Options options, ModelTable& table);
  ~ModelControl();  // Stop()s

  // Stops the loader and poller, then frees the retired versions (waiting, up to a minute, for
  // the requests that hold them). Idempotent.
  void Stop();

  // Starts the loader (and poller); loads the startup models in the background and calls
  // `started` once they are all loaded or failed.
  void Start(std::function<void()> started);

  // Explicit mode only. Load (or reload) a model, optionally with its configuration given here
  // instead of the file, and with files given here instead of its folder (which then need not be
  // in the repository; a later load without files loads the repository's folder again); `done`
  // gets an error naming what failed (kInvalidArgument for what the request got wrong).
  void Load(std::string name, LoadRequest request, Done done);
  // Loads (or reloads) a model from its folder whatever the control mode: for models that arrive
  // by other ways than the repository API (the Kafka models topic).
  void Refresh(std::string name, Done done);
  void Unload(std::string name, Done done);

  // Every model of the repository and of the table, with each version's state.
  std::vector<ModelStatus> Index() const;
  // The state of every version in the model table, without reading the repository (what a
  // metrics scrape needs: Index() scans the repository's folders and files).
  std::vector<ModelStatus> VersionStates() const;

  ControlMode mode() const { return options_.mode; }
  // Whether the startup loads include `name` (every model, unless explicit control names others).
  bool LoadsAtStart(std::string_view name) const;

 private:
  struct Fingerprints {
    std::uint64_t config = 0;
    std::map<std::int64_t, std::uint64_t> versions;
    bool operator==(const Fingerprints&) const = default;
  };

  void Enqueue(std::move_only_function<void()> task);
  void LoaderLoop(std::stop_token stop);
  void PollLoop(std::stop_token stop);
  // On the loader thread.
  // Explicit mode: loads what `name` calls that is not loaded yet.
  void LoadDependencies(const std::string& name, const std::vector<std::string>& dependencies);
  core::Result<void> DoLoad(const std::string& name, const std::optional<std::string>& config_override,
                            std::optional<model::ModelDirectory> scanned);
  void DoUnload(const std::string& name);
  // DoLoad from the request's files when it has any (staged first), from the repository else.
  core::Result<void> LoadAsAsked(const std::string& name, const LoadRequest& request);
  // When `serving` has version `v` READY: a copy of it that keeps serving, saying the new build
  // was refused and why; else null.
  static std::shared_ptr<ServedVersion> KeepServing(const ServedModel* serving, std::int64_t v,
                                                    std::string_view refused);
  // Builds again the routers that were waiting for `name`, which was just loaded (or failed to).
  void RetryWaiting(const std::string& name);
  void Retire(const std::shared_ptr<const ServedModel>& old, const ServedModel* kept);
  // Frees retired versions no request holds any more; with `wait_all`, waits (up to a minute)
  // until every one is free.
  void CollectRetired(bool wait_all);

  // Constant after construction.
  const Options options_;
  ModelTable& table_;
  const backends::BackendRegistry registry_;

  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  // Protected by mutex_.
  std::deque<std::move_only_function<void()>> tasks_;
  std::set<std::string> loading_;
  std::vector<routing::ServableHandle> retired_;

  // Loader thread only.
  std::map<std::string, Fingerprints> loaded_from_;  // what each model's last load saw
  model::StagingArea staging_;
  std::map<std::string, std::filesystem::path> staged_;  // models serving files pushed with a load
  // Routers that could not be built for want of these targets, with the model.yaml override
  // they were loaded with (explicit mode), to build again once the targets serve.
  struct Waiting {
    std::vector<std::string> targets;
    std::optional<std::string> config_override;
  };
  std::map<std::string, Waiting> waiting_;
  std::set<std::string> retrying_;  // routers being built again, up the current chain of retries
  // Poll thread only.
  std::map<std::string, Fingerprints> previous_scan_;

  std::jthread loader_;
  std::jthread poller_;
};

}  // namespace ferry::runtime
