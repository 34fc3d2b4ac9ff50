#include "backends/torch/torchscript_backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <ATen/Parallel.h>
#include <torch/script.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <sstream>

#include "backends/parameters.h"
#include "core/file.h"

namespace ferry::backends::torchscript {
namespace {

namespace fs = std::filesystem;
using core::DataType;
using core::Result;
using core::Shape;

std::optional<at::ScalarType> TorchType(DataType type) {
  switch (type) {
    case DataType::kBool: return at::kBool;
    case DataType::kUint8: return at::kByte;
    case DataType::kInt8: return at::kChar;
    case DataType::kInt16: return at::kShort;
    case DataType::kInt32: return at::kInt;
    case DataType::kInt64: return at::kLong;
    case DataType::kFp16: return at::kHalf;
    case DataType::kBf16: return at::kBFloat16;
    case DataType::kFp32: return at::kFloat;
    case DataType::kFp64: return at::kDouble;
    default: return std::nullopt;
  }
}

// libtorch's message without its C++ stack trace. An error raised in TorchScript code comes with
// the tracebacks of the serialized and the original code, which name the server's (or the
// trainer's) files: they go to the log, and the message is the error itself, its last line.
std::string TorchMessage(const std::exception& e) {
  std::string_view what = e.what();
  what = what.substr(0, what.find("\nException raised from"));
  if (what.find("Traceback of TorchScript") == std::string_view::npos) return std::string(what);
  spdlog::warn("TorchScript forward() failed: {}", what);
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.remove_suffix(1);
  const auto last = what.rfind('\n');
  return std::string(last == std::string_view::npos ? what : what.substr(last + 1));
}

class TorchInstance final : public BackendInstance {
 public:
  TorchInstance(torch::jit::Module module, const core::ModelSignature& signature)
      : module_(std::move(module)), signature_(signature) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes* times) override {
    const auto start = std::chrono::steady_clock::now();
    try {
      c10::InferenceMode guard;
      std::vector<c10::IValue> args;
      args.reserve(inputs.size());
      for (const auto& t : inputs) {
        // A view of the request's buffer: forward() does not write its inputs.
        std::vector<std::int64_t> sizes(t.shape().dims().begin(), t.shape().dims().end());
        args.emplace_back(torch::from_blob(const_cast<std::byte*>(t.bytes().data()), sizes,
                                           at::TensorOptions().dtype(*TorchType(t.type()))));
      }
      const c10::IValue result = module_.forward(std::move(args));
      std::vector<core::Tensor> answer;
      for (const auto& name : outputs) {
        FERRY_ASSIGN_OR_RETURN(auto tensor, Pick(result, name));
        answer.push_back(std::move(tensor));
      }
      if (times) times->infer = std::chrono::steady_clock::now() - start;
      return answer;
    } catch (const std::exception& e) {
      return core::Internal(fmt::format("TorchScript forward() failed: {}", TorchMessage(e)));
    }
  }

 private:
  // The output `name` from what forward() returned, copied into a ferry tensor of its declared type.
  Result<core::Tensor> Pick(const c10::IValue& result, const std::string& name) const {
    const auto& specs = signature_.outputs;
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
    const auto index = static_cast<std::size_t>(spec - specs.begin());
    c10::IValue value;
    if (result.isTensor()) {
      if (index != 0) return core::Internal(fmt::format("forward() returned one tensor; no output '{}'", name));
      value = result;
    } else if (result.isTuple() || result.isList()) {
      // A view of the returned values, not a copy of them for each output picked.
      const c10::ArrayRef<c10::IValue> items = result.isTuple() ? result.toTupleRef().elements() : result.toListRef();
      if (index >= items.size()) {
        return core::Internal(fmt::format("forward() returned {} values; no output '{}' (number {} in model.yaml)",
                                          items.size(), name, index + 1));
      }
      value = items[index];
    } else if (result.isGenericDict()) {
      const auto dict = result.toGenericDict();
      const auto it = dict.find(c10::IValue(name));
      if (it == dict.end()) return core::Internal(fmt::format("forward() returned a dict without '{}'", name));
      value = it->value();
    } else {
      return core::Internal(fmt::format("forward() returned a {}, not tensors", result.tagKind()));
    }
    if (!value.isTensor()) return core::Internal(fmt::format("output '{}' is a {}, not a tensor", name, value.tagKind()));
    const at::Tensor t = value.toTensor().to(*TorchType(spec->type)).contiguous();
    Shape shape(std::vector<std::int64_t>(t.sizes().begin(), t.sizes().end()));
    if (!shape.Matches(spec->shape)) {
      return core::Internal(fmt::format("output '{}' has shape {}, model.yaml declares {}", name, shape.ToString(),
                                        spec->shape.ToString()));
    }
    FERRY_ASSIGN_OR_RETURN(auto out, core::Tensor::Allocate(name, spec->type, std::move(shape)));
    std::memcpy(out.bytes().data(), t.data_ptr(), out.byte_size());
    return out;
  }

  torch::jit::Module module_;
  const core::ModelSignature& signature_;
};

Result<torch::jit::Module> LoadModule(const std::string& bytes, const std::string& source) {
  try {
    std::istringstream stream(bytes);
    torch::jit::Module module = torch::jit::load(stream, torch::kCPU);
    module.eval();
    return module;
  } catch (const std::exception& e) {
    return core::InvalidArgument(fmt::format("{}: not a TorchScript module libtorch {} reads: {}", source,
                                             TORCH_VERSION, TorchMessage(e)));
  }
}

class TorchModel final : public BackendModel {
 public:
  TorchModel(std::string bytes, core::ModelSignature signature)
      : bytes_(std::move(bytes)), signature_(std::move(signature)) {}
  const core::ModelSignature& signature() const override { return signature_; }
  std::string_view platform() const override { return "pytorch_libtorch"; }
  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    FERRY_ASSIGN_OR_RETURN(auto module, LoadModule(bytes_, "model.pt"));
    return std::unique_ptr<BackendInstance>(new TorchInstance(std::move(module), signature_));
  }

 private:
  std::string bytes_;  // the file, so each instance loads its own module
  core::ModelSignature signature_;
};

Result<void> CheckTypes(const std::vector<core::TensorSpec>& specs, std::string_view what) {
  for (const auto& s : specs) {
    if (!TorchType(s.type)) {
      return core::InvalidArgument(fmt::format("{} '{}': {} is not a type TorchScript tensors have", what, s.name,
                                               core::DataTypeName(s.type)));
    }
  }
  return {};
}

class TorchBackend final : public Backend {
 public:
  std::string_view name() const override { return "torchscript"; }
  std::string_view Files() const override { return "model.pt"; }
  bool Recognizes(const fs::path& dir) const override {
    std::error_code ec;
    return fs::is_regular_file(dir / "model.pt", ec);
  }
  Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    if (options.declared.inputs.empty() || options.declared.outputs.empty()) {
      return core::InvalidArgument("a TorchScript model needs `inputs` and `outputs` in model.yaml (model.pt does "
                                   "not declare its tensors)");
    }
    FERRY_RETURN_IF_ERROR(CheckTypes(options.declared.inputs, "input"));
    FERRY_RETURN_IF_ERROR(CheckTypes(options.declared.outputs, "output"));
    FERRY_ASSIGN_OR_RETURN(const int threads, IntParameter(options, "intra_op_threads", 1, 1, 1024));
    at::set_num_threads(threads);
    FERRY_ASSIGN_OR_RETURN(auto bytes, core::ReadWholeFile(options.version_dir / "model.pt"));
    // Load once here so that a bad file fails the load, not the first instance.
    FERRY_RETURN_IF_ERROR(LoadModule(bytes, "model.pt"));
    return std::unique_ptr<BackendModel>(new TorchModel(std::move(bytes), options.declared));
  }
};

}  // namespace

std::unique_ptr<Backend> CreateTorchScriptBackend() { return std::make_unique<TorchBackend>(); }

}  // namespace ferry::backends::torchscript
