// ModelInvoker: how a pipeline reaches the models it runs. The runtime implements it over its
// model table and schedulers (so requests from pipelines batch with everyone else's); a test can
// implement it over anything. Both methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::pipeline {

struct ModelInfo {
  std::int64_t max_batch_size = 0;  // rows a request may carry (0: no batch dimension)
  core::ModelSignature signature;
};

using InferDone = std::move_only_function<void(core::Result<core::InferenceResponse>)>;

class ModelInvoker {
 public:
  virtual ~ModelInvoker() = default;
  // The model (not a pipeline) a model step names, as it serves now.
  virtual core::Result<ModelInfo> Describe(std::string_view model, std::int64_t version) const = 0;
  // Queues the request; `done` runs once, on any thread.
  virtual void Infer(core::InferenceRequest&& request, InferDone done) = 0;
};

}  // namespace ferry::pipeline
