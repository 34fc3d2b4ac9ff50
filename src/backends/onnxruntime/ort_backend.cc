#include "backends/onnxruntime/ort_backend.h"

#include <onnxruntime_cxx_api.h>

#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <system_error>

#include "backends/parameters.h"

namespace ferry::backends::onnxruntime {
namespace {

using core::DataType;
using core::Result;

constexpr char kModelFile[] = "model.onnx";

// One environment for the process: ONNX Runtime wants exactly one, created before any session.
// Telemetry off: ferry sends nothing anywhere. (Whatever this says, the release build still
// reads /etc/machine-id when a session is made and, where it is missing or empty, runs
// `sh -c "echo `blkid; hostname`"`, crashing in fclose(NULL) where there is no shell: ferry's
// images carry a machine-id, deploy/image/rootfs.py.)
Ort::Env& Environment() {
  static Ort::Env env = [] {
    Ort::Env created(ORT_LOGGING_LEVEL_WARNING, "ferry");
    created.DisableTelemetryEvents();
    return created;
  }();
  return env;
}

std::optional<DataType> FromOnnx(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return DataType::kBool;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return DataType::kUint8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return DataType::kUint16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return DataType::kUint32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return DataType::kUint64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return DataType::kInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return DataType::kInt16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return DataType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return DataType::kInt64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return DataType::kFp16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return DataType::kFp32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return DataType::kFp64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return DataType::kBf16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: return DataType::kBytes;
    default: return std::nullopt;
  }
}

ONNXTensorElementDataType ToOnnx(DataType type) {
  switch (type) {
    case DataType::kBool: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
    case DataType::kUint8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case DataType::kUint16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16;
    case DataType::kUint32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32;
    case DataType::kUint64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64;
    case DataType::kInt8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case DataType::kInt16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16;
    case DataType::kInt32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case DataType::kInt64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case DataType::kFp16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case DataType::kFp32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case DataType::kFp64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
    case DataType::kBf16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
    case DataType::kBytes: return ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING;
  }
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

Result<GraphOptimizationLevel> OptimizationLevel(const LoadOptions& options) {
  auto it = options.parameters.find("graph_optimization_level");
  if (it == options.parameters.end() || it->second == "all") return GraphOptimizationLevel::ORT_ENABLE_ALL;
  if (it->second == "disable") return GraphOptimizationLevel::ORT_DISABLE_ALL;
  if (it->second == "basic") return GraphOptimizationLevel::ORT_ENABLE_BASIC;
  if (it->second == "extended") return GraphOptimizationLevel::ORT_ENABLE_EXTENDED;
  return core::InvalidArgument(fmt::format(
      "parameter graph_optimization_level '{}' is unknown (disable, basic, extended or all)", it->second));
}

// Reads one side (inputs or outputs) of a session's signature. Non-tensor outputs (sequences,
// maps) are left out with no error; a non-tensor input makes the model unservable.
Result<std::vector<core::TensorSpec>> ReadSignature(Ort::Session& session, bool inputs) {
  Ort::AllocatorWithDefaultOptions allocator;
  const std::size_t count = inputs ? session.GetInputCount() : session.GetOutputCount();
  std::vector<core::TensorSpec> specs;
  for (std::size_t i = 0; i < count; ++i) {
    auto name = inputs ? session.GetInputNameAllocated(i, allocator) : session.GetOutputNameAllocated(i, allocator);
    Ort::TypeInfo info = inputs ? session.GetInputTypeInfo(i) : session.GetOutputTypeInfo(i);
    const char* side = inputs ? "input" : "output";
    if (info.GetONNXType() != ONNX_TYPE_TENSOR) {
      if (inputs) {
        return core::InvalidArgument(fmt::format("{} '{}' is not a tensor; ferry serves tensor inputs only", side,
                                                 name.get()));
      }
      continue;
    }
    auto tensor_info = info.GetTensorTypeAndShapeInfo();
    auto type = FromOnnx(tensor_info.GetElementType());
    if (!type) {
      return core::InvalidArgument(fmt::format("{} '{}' has ONNX element type {}, which ferry does not serve", side,
                                               name.get(),
                                               static_cast<int>(tensor_info.GetElementType())));
    }
    std::vector<std::int64_t> dims = tensor_info.GetShape();
    for (auto& d : dims) {
      if (d < 0) d = core::Shape::kVariable;
    }
    specs.push_back({name.get(), *type, core::Shape(std::move(dims))});
  }
  return specs;
}

class OrtInstance final : public BackendInstance {
 public:
  OrtInstance(Ort::Session& session, std::string model_name)
      : session_(session),
        model_name_(std::move(model_name)),
        memory_(Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault)) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs,
                                            std::span<const std::string> outputs, core::ComputeTimes* times) override {
    try {
      return Run(inputs, outputs, times);
    } catch (const Ort::Exception& e) {
      const auto code = e.GetOrtErrorCode() == ORT_INVALID_ARGUMENT ? core::ErrorCode::kInvalidArgument
                                                                    : core::ErrorCode::kInternal;
      return core::MakeError(code, fmt::format("model '{}': ONNX Runtime failed: {}", model_name_, e.what()));
    } catch (const std::exception& e) {
      return core::Internal(fmt::format("model '{}': ONNX Runtime failed: {}", model_name_, e.what()));
    }
  }

 private:
  Result<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                        core::ComputeTimes* times) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    input_names_.clear();
    input_values_.clear();
    output_names_.clear();
    for (const core::Tensor& t : inputs) {
      input_names_.push_back(t.name().c_str());
      input_values_.push_back(MakeValue(t));
    }
    for (const std::string& name : outputs) output_names_.push_back(name.c_str());

    const auto prepared = Clock::now();
    std::vector<Ort::Value> results =
        session_.Run(run_options_, input_names_.data(), input_values_.data(), input_values_.size(),
                     output_names_.data(), output_names_.size());
    const auto ran = Clock::now();

    std::vector<core::Tensor> tensors;
    tensors.reserve(results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      FERRY_ASSIGN_OR_RETURN(auto tensor, ToTensor(outputs[i], results[i]));
      tensors.push_back(std::move(tensor));
    }
    if (times) *times = {.input = prepared - start, .infer = ran - prepared, .output = Clock::now() - ran};
    return tensors;
  }

  Ort::Value MakeValue(const core::Tensor& t) {
    const auto dims = t.shape().dims();
    if (t.type() == DataType::kBytes) {
      Ort::AllocatorWithDefaultOptions allocator;
      Ort::Value value = Ort::Value::CreateTensor(allocator, dims.data(), dims.size(),
                                                  ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);
      std::size_t index = 0;
      core::ForEachBytesElement(t.bytes(), [&](std::string_view element) {
        char* out = value.GetResizedStringTensorElementBuffer(index++, element.size());
        std::memcpy(out, element.data(), element.size());
      });
      return value;
    }
    // Wraps the request's buffer without a copy; ONNX Runtime does not write to inputs.
    return Ort::Value::CreateTensor(memory_, const_cast<std::byte*>(t.bytes().data()), t.byte_size(),
                                    dims.data(), dims.size(), ToOnnx(t.type()));
  }

  Result<core::Tensor> ToTensor(const std::string& name, Ort::Value& value) {
    if (!value.IsTensor()) {
      return core::Internal(fmt::format("model '{}': output '{}' is not a tensor", model_name_, name));
    }
    auto info = value.GetTensorTypeAndShapeInfo();
    auto type = FromOnnx(info.GetElementType());
    if (!type) {
      return core::Internal(fmt::format("model '{}': output '{}' has an element type ferry does not serve",
                                        model_name_, name));
    }
    core::Shape shape(info.GetShape());
    if (*type != DataType::kBytes) {
      FERRY_ASSIGN_OR_RETURN(core::Tensor tensor, core::Tensor::Allocate(name, *type, std::move(shape)));
      if (tensor.byte_size() > 0) std::memcpy(tensor.bytes().data(), value.GetTensorRawData(), tensor.byte_size());
      return tensor;
    }
    const std::size_t count = info.GetElementCount();
    const std::size_t chars = value.GetStringTensorDataLength();
    offsets_.resize(count);
    chars_.resize(chars);
    if (count > 0) value.GetStringTensorContent(chars_.data(), chars, offsets_.data(), count);
    core::Tensor tensor = core::Tensor::AllocateBytes(name, DataType::kBytes, std::move(shape), chars + 4 * count);
    std::byte* out = tensor.bytes().data();
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t end = i + 1 < count ? offsets_[i + 1] : chars;
      out += core::WriteBytesElement(out, std::string_view(chars_.data() + offsets_[i], end - offsets_[i]));
    }
    return tensor;
  }

  Ort::Session& session_;
  const std::string model_name_;
  Ort::MemoryInfo memory_;
  Ort::RunOptions run_options_;
  // Scratch reused across calls (an instance is never run concurrently).
  std::vector<const char*> input_names_;
  std::vector<Ort::Value> input_values_;
  std::vector<const char*> output_names_;
  std::vector<std::size_t> offsets_;
  std::vector<char> chars_;
};

class OrtModel final : public BackendModel {
 public:
  OrtModel(Ort::Session session, core::ModelSignature signature, std::string model_name)
      : session_(std::move(session)), signature_(std::move(signature)), model_name_(std::move(model_name)) {}

  const core::ModelSignature& signature() const override { return signature_; }
  std::string_view platform() const override { return "onnxruntime_onnx"; }

  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    return std::make_unique<OrtInstance>(session_, model_name_);
  }

 private:
  Ort::Session session_;
  core::ModelSignature signature_;
  std::string model_name_;
};

class OrtBackend final : public Backend {
 public:
  std::string_view name() const override { return "onnxruntime"; }

  std::string_view Files() const override { return "model.onnx"; }
  bool Recognizes(const std::filesystem::path& version_dir) const override {
    std::error_code ec;
    return std::filesystem::is_regular_file(version_dir / kModelFile, ec);
  }

  Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    const auto file = options.model_file.empty() ? options.version_dir / kModelFile : options.model_file;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return core::NotFound(fmt::format("{} is missing", file.string()));
    }
    FERRY_ASSIGN_OR_RETURN(int intra, IntParameter(options, "intra_op_threads", 1, 0, 1024));
    FERRY_ASSIGN_OR_RETURN(int inter, IntParameter(options, "inter_op_threads", 1, 0, 1024));
    FERRY_ASSIGN_OR_RETURN(auto level, OptimizationLevel(options));
    try {
      Ort::SessionOptions session_options;
      session_options.SetIntraOpNumThreads(intra);
      session_options.SetInterOpNumThreads(inter);
      session_options.SetExecutionMode(inter > 1 ? ExecutionMode::ORT_PARALLEL : ExecutionMode::ORT_SEQUENTIAL);
      session_options.SetGraphOptimizationLevel(level);
      // Spinning threads would burn the cores the HTTP threads need between requests.
      session_options.AddConfigEntry("session.intra_op.allow_spinning", "0");
      session_options.AddConfigEntry("session.inter_op.allow_spinning", "0");
      Ort::Session session(Environment(), file.c_str(), session_options);
      core::ModelSignature signature;
      FERRY_ASSIGN_OR_RETURN(signature.inputs, ReadSignature(session, true));
      FERRY_ASSIGN_OR_RETURN(signature.outputs, ReadSignature(session, false));
      if (signature.outputs.empty()) {
        return core::InvalidArgument(fmt::format("{} has no tensor outputs", file.string()));
      }
      return std::make_unique<OrtModel>(std::move(session), std::move(signature), options.model_name);
    } catch (const Ort::Exception& e) {
      return core::InvalidArgument(fmt::format("ONNX Runtime cannot load {}: {}", file.string(), e.what()));
    }
  }
};

}  // namespace

std::unique_ptr<Backend> CreateOrtBackend() { return std::make_unique<OrtBackend>(); }

}  // namespace ferry::backends::onnxruntime
