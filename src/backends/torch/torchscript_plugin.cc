// The torchscript plugin, libferry_backend_torchscript.so: the torchscript backend (TorchScript (libtorch)).
#include "backends/torch/torchscript_backend.h"
#include "backends/plugin.h"

namespace {

std::unique_ptr<ferry::backends::Backend> CreateBackend(std::string_view name) {
  return name == "torchscript" ? ferry::backends::torchscript::CreateTorchScriptBackend() : nullptr;
}

}  // namespace

FERRY_BACKEND_PLUGIN(&CreateBackend, nullptr)
