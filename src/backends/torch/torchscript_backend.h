// The `torchscript` backend: a TorchScript module (`model.pt`, saved with torch.jit.save) run by
// Debian's libtorch (CPU). A TorchScript file does not declare its tensors, so model.yaml must:
// `inputs` are passed to forward() positionally in the order listed; `outputs` name what forward
// returns: a tensor (one output), a tuple or list of tensors (in the order listed), or a dict of
// tensors (by name). Types BOOL, UINT8, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64.
// model.yaml parameters: intra_op_threads (default 1; libtorch's pool is one per process, so the
// last model loaded sets it for all). Each instance loads its own module, run under
// InferenceMode. Built unless CMake's FERRY_WITH_TORCH is OFF.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::torchscript {

std::unique_ptr<Backend> CreateTorchScriptBackend();

}  // namespace ferry::backends::torchscript
