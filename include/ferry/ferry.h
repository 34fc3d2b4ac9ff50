// ferry embedded: a model repository served inside your program (docs/embedding.md).
//
//   #include <ferry/ferry.h>
//   std::unique_ptr<ferry::Server> server;
//   ferry::Status opened = ferry::Server::Open({.model_repository = "examples/models"}, &server);
//   std::string answer;
//   server->Predict("pima-pipeline", R"({"preg": 6, "plas": 148, ...})", &answer);
//
// The same repository, model.yaml, pipelines and routers as `ferry serve`; no network listener
// unless Options::http_port or grpc_port asks for one. Link with -lferry (pkg-config ferry, or CMake
// find_package(ferry) and ferry::ferry).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/status.h"
#include "ferry/tensor.h"

namespace ferry {

// One inference call: the model (a model, pipeline or router of the repository), its version (0:
// the one its policy serves), the inputs (borrowed: see TensorView), and the outputs wanted
// (empty: all). A plain value type.
struct InferRequest {
  std::string model;
  std::int64_t version = 0;
  std::vector<TensorView> inputs;
  std::vector<std::string> outputs;
};

// What a model answered: which model and version computed it (a router names the route's model)
// and the outputs. A plain value type; move it between threads.
struct FERRY_EXPORT InferResult {
  std::string model;
  std::int64_t version = 0;
  std::vector<Tensor> outputs;
  // The output named `name`, or null.
  const Tensor* Output(std::string_view name) const;
};

// Server: a model repository loaded in this process.
//
// Thread safety: every method may be called from any thread, concurrently, once Open() has
// returned. Infer's callback runs once: on one of ferry's threads (a model's scheduler thread)
// for an answer, or on the caller's thread before Infer returns -- when the request is refused at
// once (an unknown model, an input that does not fit), or when a fast model ran it right there
// (an idle instance of a model that averages under 100 µs a call: no hand-off to its thread) --
// and then the callbacks of calls that queued behind that run may follow on the same thread
// before Infer returns (the thread runs them instead of waking the model's). So a callback must
// not block for long nor take a lock its caller of Infer may hold; it may call the Server again
// (but not destroy it).
// Ownership: the Server owns its models and threads; destroying it waits for the calls in flight
// to answer (their callbacks run before the destructor returns), then unloads every model.
class FERRY_EXPORT Server {
 public:
  struct Options {
    std::string model_repository;
    // Where the backend plugins are (libferry_backend_*.so); empty: FERRY_BACKEND_DIRECTORY, or
    // ferry/backends beside libferry.so as `make install` lays it out.
    std::string backend_directory;
    // Load only what Load() asks for (Triton's explicit model control); default: every model.
    bool explicit_model_control = false;
    // How long Open() waits for the models to load (a model that fails answers with its reason).
    std::chrono::milliseconds ready_timeout{std::chrono::minutes(5)};
    // ferry's log, on standard error: trace, debug, info, warn, error, off.
    std::string log_level = "warn";
    // >= 0: also serve the KServe V2 HTTP API on http_host:http_port (0: a free port).
    int http_port = -1;
    std::string http_host = "127.0.0.1";
    // >= 0: also serve the KServe V2 gRPC service on grpc_host:grpc_port (0: a free port).
    int grpc_port = -1;
    std::string grpc_host = "127.0.0.1";
  };

  // Loads the repository. An error when it cannot be read or an option is wrong; a model that
  // fails to load is not an error here (its calls answer kUnavailable with the reason).
  static Status Open(const Options& options, std::unique_ptr<Server>* server);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Whether every model loaded (and why not).
  bool IsReady() const;
  std::string NotReadyReason() const;
  // The HTTP and gRPC ports when Options asked for them, else -1.
  int http_port() const;
  int grpc_port() const;

  // Tensors in, tensors out. `done` runs once, when the answer is there (see above for where).
  using InferDone = std::function<void(Status status, InferResult result)>;
  void Infer(const InferRequest& request, InferDone done);
  // The same, answered through a future.
  std::future<std::pair<Status, InferResult>> InferAsync(const InferRequest& request);
  // The same, waiting for the answer.
  Status Infer(const InferRequest& request, InferResult* result);

  // Records in, predictions out, as POST /v2/models/{model}/predict takes and answers them
  // (JSON: a record, or {"instances": [records]}; the answer {"predictions": [...]}, a record
  // that a step rejected answered by its own error in the list, or the error).
  Status Predict(std::string_view model, std::string_view records_json, std::string* predictions_json);

  // A model's metadata (its inputs and outputs; a pipeline's record fields), as JSON.
  Status ModelMetadata(std::string_view model, std::string* json);
  // Inference statistics of one model (empty: all), as Triton's statistics extension's JSON.
  Status Statistics(std::string_view model, std::string* json);
  // Loads (or reloads) and unloads a model; the repository's folder of that name.
  Status Load(std::string_view model);
  Status Unload(std::string_view model);

  // Any route of the HTTP API, answered in-process without a socket, as `ferry test` runs its
  // cases: `method` "GET", "POST" or "PUT", `path` such as "/v2/models/pima/infer" (a V2 JSON request),
  // "/v2/models/m/predict", "/v2/models/m/explain" or a model's operation, `body` JSON. The
  // answer's JSON body (the {"error": ...} one too) goes to `answer`.
  Status Call(std::string_view method, std::string_view path, std::string_view body, std::string* answer);

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ferry's version, "0.9.0".
FERRY_EXPORT std::string_view Version();

}  // namespace ferry
