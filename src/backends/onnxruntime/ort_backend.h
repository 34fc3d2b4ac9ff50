// The ONNX Runtime backend (`backend: onnxruntime`, detected from <version>/model.onnx).
//
// One Ort::Session per model version, shared by its instances (ONNX Runtime's Run is thread-safe);
// each instance keeps its own scratch so that Execute allocates only its outputs. Session options
// come from model.yaml `parameters`:
//   intra_op_threads  (default 1)  threads inside one operator; 1 suits many small requests
//   inter_op_threads  (default 1)  threads across independent operators (parallel mode if > 1)
//   graph_optimization_level (default all): disable | basic | extended | all
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::onnxruntime {

std::unique_ptr<Backend> CreateOrtBackend();

}  // namespace ferry::backends::onnxruntime
