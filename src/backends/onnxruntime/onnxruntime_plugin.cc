// The onnxruntime plugin, libferry_backend_onnxruntime.so: the onnxruntime backend (ONNX Runtime).
#include "backends/onnxruntime/ort_backend.h"
#include "backends/plugin.h"

namespace {

std::unique_ptr<ferry::backends::Backend> CreateBackend(std::string_view name) {
  return name == "onnxruntime" ? ferry::backends::onnxruntime::CreateOrtBackend() : nullptr;
}

}  // namespace

FERRY_BACKEND_PLUGIN(&CreateBackend, nullptr)
