#include "backends/python/worker_protocol.h"

#include <fmt/format.h>

#include <cstring>

namespace ferry::backends::python {
namespace {

using core::Result;

constexpr std::uint32_t kMaxRank = 32;
constexpr std::uint8_t kLastErrorCode = static_cast<std::uint8_t>(core::ErrorCode::kDeadlineExceeded);

class Writer {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(std::uint32_t v) { Raw(&v, sizeof v); }
  void I64(std::int64_t v) { Raw(&v, sizeof v); }
  void U64(std::uint64_t v) { Raw(&v, sizeof v); }
  void String(std::string_view s) {
    U32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void Map(const std::map<std::string, std::string>& m) {
    U32(static_cast<std::uint32_t>(m.size()));
    for (const auto& [k, v] : m) {
      String(k);
      String(v);
    }
  }
  void Dims(const core::Shape& shape) {
    U32(static_cast<std::uint32_t>(shape.rank()));
    for (std::int64_t d : shape.dims()) I64(d);
  }
  void Specs(const std::vector<core::TensorSpec>& specs) {
    U32(static_cast<std::uint32_t>(specs.size()));
    for (const auto& s : specs) {
      String(s.name);
      String(core::DataTypeName(s.type));
      Dims(s.shape);
    }
  }
  void Tensors(std::span<const core::Tensor> tensors) {
    U32(static_cast<std::uint32_t>(tensors.size()));
    for (const auto& t : tensors) {
      String(t.name());
      String(core::DataTypeName(t.type()));
      Dims(t.shape());
      U64(t.byte_size());
      Raw(t.bytes().data(), t.byte_size());
    }
  }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(const void* data, std::size_t n) { out_.append(static_cast<const char*>(data), n); }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  Result<std::uint8_t> U8() {
    FERRY_ASSIGN_OR_RETURN(auto bytes, Take(1, "a byte"));
    return static_cast<std::uint8_t>(bytes[0]);
  }
  // 0 or 1, as encoded; anything else is not a message of ours.
  Result<bool> Bool() {
    FERRY_ASSIGN_OR_RETURN(const auto b, U8());
    if (b > 1) return Bad(fmt::format("a flag of {}", b));
    return b == 1;
  }
  Result<std::uint32_t> U32() { return Fixed<std::uint32_t>("a count"); }
  Result<std::int64_t> I64() { return Fixed<std::int64_t>("an integer"); }
  Result<std::uint64_t> U64() { return Fixed<std::uint64_t>("a size"); }
  Result<std::string> String() {
    FERRY_ASSIGN_OR_RETURN(const auto n, U32());
    FERRY_ASSIGN_OR_RETURN(auto bytes, Take(n, "a string"));
    return std::string(bytes);
  }
  Result<std::map<std::string, std::string>> Map() {
    FERRY_ASSIGN_OR_RETURN(const auto n, U32());
    std::map<std::string, std::string> m;
    for (std::uint32_t i = 0; i < n; ++i) {
      FERRY_ASSIGN_OR_RETURN(auto k, String());
      FERRY_ASSIGN_OR_RETURN(auto v, String());
      if (!m.empty() && k <= m.rbegin()->first) return Bad("map keys out of order");  // as encoded: sorted, unique
      m.emplace_hint(m.end(), std::move(k), std::move(v));
    }
    return m;
  }
  Result<core::DataType> Type() {
    FERRY_ASSIGN_OR_RETURN(const auto name, String());
    const auto type = core::ParseDataType(name);
    if (!type) return Bad(fmt::format("unknown datatype '{}'", name));
    return *type;
  }
  Result<core::Shape> Dims() {
    FERRY_ASSIGN_OR_RETURN(const auto rank, U32());
    if (rank > kMaxRank) return Bad(fmt::format("rank {}", rank));
    std::vector<std::int64_t> dims;
    for (std::uint32_t i = 0; i < rank; ++i) {
      FERRY_ASSIGN_OR_RETURN(const auto d, I64());
      dims.push_back(d);
    }
    return core::Shape(std::move(dims));
  }
  Result<std::vector<core::TensorSpec>> Specs() {
    FERRY_ASSIGN_OR_RETURN(const auto n, U32());
    std::vector<core::TensorSpec> specs;
    for (std::uint32_t i = 0; i < n; ++i) {
      core::TensorSpec spec;
      FERRY_ASSIGN_OR_RETURN(spec.name, String());
      FERRY_ASSIGN_OR_RETURN(spec.type, Type());
      FERRY_ASSIGN_OR_RETURN(spec.shape, Dims());
      specs.push_back(std::move(spec));
    }
    return specs;
  }
  Result<std::vector<core::Tensor>> Tensors() {
    FERRY_ASSIGN_OR_RETURN(const auto n, U32());
    std::vector<core::Tensor> tensors;
    for (std::uint32_t i = 0; i < n; ++i) {
      FERRY_ASSIGN_OR_RETURN(auto name, String());
      FERRY_ASSIGN_OR_RETURN(const auto type, Type());
      FERRY_ASSIGN_OR_RETURN(auto shape, Dims());
      FERRY_ASSIGN_OR_RETURN(const auto size, U64());
      FERRY_ASSIGN_OR_RETURN(auto bytes, Take(size, "tensor data"));
      auto tensor = core::Tensor::FromRaw(std::move(name), type, std::move(shape),
                                          std::as_bytes(std::span(bytes.data(), bytes.size())));
      if (!tensor) return Bad(tensor.error().message);
      tensors.push_back(std::move(*tensor));
    }
    return tensors;
  }
  Result<void> End() {
    if (!in_.empty()) return Bad(fmt::format("{} bytes left over", in_.size()));
    return {};
  }

 private:
  template <typename T>
  Result<T> Fixed(const char* what) {
    FERRY_ASSIGN_OR_RETURN(auto bytes, Take(sizeof(T), what));
    T v;
    std::memcpy(&v, bytes.data(), sizeof v);
    return v;
  }
  Result<std::string_view> Take(std::uint64_t n, const char* what) {
    if (n > in_.size()) return Bad(fmt::format("truncated message: {} needs {} bytes, {} left", what, n, in_.size()));
    auto bytes = in_.substr(0, n);
    in_.remove_prefix(n);
    return bytes;
  }
  static std::unexpected<core::Error> Bad(std::string what) {
    return core::Internal("python worker protocol: " + std::move(what));
  }

  std::string_view in_;
};

}  // namespace

std::string EncodeWorkerLoad(const WorkerLoad& load) {
  Writer w;
  w.String(load.model_name);
  w.I64(load.version);
  w.String(load.version_dir);
  w.String(load.model_file);
  w.Map(load.parameters);
  w.Map(load.flavor);
  w.String(load.function);
  w.Map(load.kwargs);
  w.U8(load.pass_outputs ? 1 : 0);
  w.String(load.platform);
  w.Specs(load.signature.inputs);
  w.Specs(load.signature.outputs);
  return w.Take();
}

Result<WorkerLoad> DecodeWorkerLoad(std::string_view payload) {
  Reader r(payload);
  WorkerLoad load;
  FERRY_ASSIGN_OR_RETURN(load.model_name, r.String());
  FERRY_ASSIGN_OR_RETURN(load.version, r.I64());
  FERRY_ASSIGN_OR_RETURN(load.version_dir, r.String());
  FERRY_ASSIGN_OR_RETURN(load.model_file, r.String());
  FERRY_ASSIGN_OR_RETURN(load.parameters, r.Map());
  FERRY_ASSIGN_OR_RETURN(load.flavor, r.Map());
  FERRY_ASSIGN_OR_RETURN(load.function, r.String());
  FERRY_ASSIGN_OR_RETURN(load.kwargs, r.Map());
  FERRY_ASSIGN_OR_RETURN(load.pass_outputs, r.Bool());
  FERRY_ASSIGN_OR_RETURN(load.platform, r.String());
  FERRY_ASSIGN_OR_RETURN(load.signature.inputs, r.Specs());
  FERRY_ASSIGN_OR_RETURN(load.signature.outputs, r.Specs());
  FERRY_RETURN_IF_ERROR(r.End());
  return load;
}

std::string EncodeWorkerExecute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs) {
  Writer w;
  w.Tensors(inputs);
  w.U32(static_cast<std::uint32_t>(outputs.size()));
  for (const auto& name : outputs) w.String(name);
  return w.Take();
}

Result<WorkerExecute> DecodeWorkerExecute(std::string_view payload) {
  Reader r(payload);
  WorkerExecute execute;
  FERRY_ASSIGN_OR_RETURN(execute.inputs, r.Tensors());
  FERRY_ASSIGN_OR_RETURN(const auto n, r.U32());
  for (std::uint32_t i = 0; i < n; ++i) {
    FERRY_ASSIGN_OR_RETURN(auto name, r.String());
    execute.outputs.push_back(std::move(name));
  }
  FERRY_RETURN_IF_ERROR(r.End());
  return execute;
}

std::string EncodeWorkerReply(const Result<std::vector<core::Tensor>>& outputs) {
  Writer w;
  if (outputs) {
    w.U8(0);
    w.Tensors(*outputs);
  } else {
    w.U8(1);
    w.U8(static_cast<std::uint8_t>(outputs.error().code));
    w.String(outputs.error().message);
  }
  return w.Take();
}

Result<WorkerReply> DecodeWorkerReply(std::string_view payload) {
  Reader r(payload);
  WorkerReply reply;
  FERRY_ASSIGN_OR_RETURN(const bool failed, r.Bool());
  if (failed) {
    FERRY_ASSIGN_OR_RETURN(const auto code, r.U8());
    if (code > kLastErrorCode) return core::Internal(fmt::format("python worker protocol: error code {}", code));
    FERRY_ASSIGN_OR_RETURN(auto message, r.String());
    reply.outputs = core::MakeError(static_cast<core::ErrorCode>(code), std::move(message));
  } else {
    FERRY_ASSIGN_OR_RETURN(auto tensors, r.Tensors());
    reply.outputs = std::move(tensors);
  }
  FERRY_RETURN_IF_ERROR(r.End());
  return reply;
}

}  // namespace ferry::backends::python
