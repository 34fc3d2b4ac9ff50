// Encoding of KServe V2 JSON infer responses and metadata.
#include <fmt/format.h>

#include "server/protocol/json_writer.h"
#include "server/protocol/v2_json.h"

namespace ferry::protocol {
namespace {

using core::DataType;

template <typename T>
void WriteValues(const core::Tensor& t, JsonWriter& w) {
  for (T v : t.values<T>()) w.Number(v);
}

void WriteParameters(const core::Parameters& params, JsonWriter& w) {
  w.BeginObject();
  for (const auto& [key, value] : params) {
    w.Key(key);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, bool>) {
            w.Bool(v);
          } else if constexpr (std::is_same_v<V, std::string>) {
            w.String(v);
          } else {
            w.Number(v);
          }
        },
        value);
  }
  w.EndObject();
}

// The name, datatype and shape members shared by tensor metadata and output tensors.
void WriteTensorHeader(std::string_view name, DataType type, const core::Shape& shape, JsonWriter& w) {
  w.Key("name");
  w.String(name);
  w.Key("datatype");
  w.String(core::DataTypeName(type));
  w.Key("shape");
  w.BeginArray();
  for (auto d : shape.dims()) w.Number(d);
  w.EndArray();
}

void WriteSpec(const core::TensorSpec& spec, JsonWriter& w) {
  w.BeginObject();
  WriteTensorHeader(spec.name, spec.type, spec.shape, w);
  w.EndObject();
}

void WriteData(const core::Tensor& t, JsonWriter& w) {
  w.BeginArray();
  switch (t.type()) {
    case DataType::kBool:
      for (std::uint8_t v : t.values<std::uint8_t>()) w.Bool(v != 0);
      break;
    case DataType::kUint8: WriteValues<std::uint8_t>(t, w); break;
    case DataType::kUint16: WriteValues<std::uint16_t>(t, w); break;
    case DataType::kUint32: WriteValues<std::uint32_t>(t, w); break;
    case DataType::kUint64: WriteValues<std::uint64_t>(t, w); break;
    case DataType::kInt8: WriteValues<std::int8_t>(t, w); break;
    case DataType::kInt16: WriteValues<std::int16_t>(t, w); break;
    case DataType::kInt32: WriteValues<std::int32_t>(t, w); break;
    case DataType::kInt64: WriteValues<std::int64_t>(t, w); break;
    case DataType::kFp16:
      for (std::uint16_t v : t.values<std::uint16_t>()) w.Number(core::HalfToFloat(v));
      break;
    case DataType::kBf16:
      for (std::uint16_t v : t.values<std::uint16_t>()) w.Number(core::Bf16ToFloat(v));
      break;
    case DataType::kFp32: WriteValues<float>(t, w); break;
    case DataType::kFp64: WriteValues<double>(t, w); break;
    case DataType::kBytes:
      core::ForEachBytesElement(t.bytes(), [&](std::string_view s) { w.String(s); });
      break;
  }
  w.EndArray();
}

}  // namespace

void EncodeTensorData(const core::Tensor& t, std::string& out) {
  JsonWriter w(out);
  WriteData(t, w);
}

void EncodeInferResponse(const core::InferenceResponse& response, std::string& out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("model_name");
  w.String(response.model_name);
  w.Key("model_version");
  w.String(std::to_string(response.model_version));
  if (!response.id.empty()) {
    w.Key("id");
    w.String(response.id);
  }
  if (!response.parameters.empty()) {
    w.Key("parameters");
    WriteParameters(response.parameters, w);
  }
  w.Key("outputs");
  w.BeginArray();
  for (const core::Tensor& t : response.outputs) {
    w.BeginObject();
    WriteTensorHeader(t.name(), t.type(), t.shape(), w);
    w.Key("data");
    WriteData(t, w);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string EncodeServerMetadata(const runtime::ServerMetadata& metadata) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("name");
  w.String(metadata.name);
  w.Key("version");
  w.String(metadata.version);
  w.Key("extensions");
  w.BeginArray();
  for (const auto& e : metadata.extensions) w.String(e);
  w.EndArray();
  w.EndObject();
  return out;
}

std::string EncodeModelMetadata(const runtime::ModelMetadata& metadata) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("name");
  w.String(metadata.name);
  w.Key("versions");
  w.BeginArray();
  for (auto v : metadata.versions) w.String(std::to_string(v));
  w.EndArray();
  w.Key("platform");
  w.String(metadata.platform);
  w.Key("inputs");
  w.BeginArray();
  for (const auto& spec : metadata.signature.inputs) WriteSpec(spec, w);
  w.EndArray();
  w.Key("outputs");
  w.BeginArray();
  for (const auto& spec : metadata.signature.outputs) WriteSpec(spec, w);
  w.EndArray();
  w.EndObject();
  return out;
}

std::string EncodeError(std::string_view message) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("error");
  w.String(message);
  w.EndObject();
  return out;
}

}  // namespace ferry::protocol
