// Encoding of KServe V2 JSON infer responses and metadata.
#include <fmt/format.h>

#include "core/json_writer.h"
#include "core/tensor_json.h"
#include "protocol/v2_json.h"

namespace ferry::protocol {

using core::JsonWriter;
namespace {

using core::DataType;

void WriteParameterMembers(const core::Parameters& params, JsonWriter& w) {
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
}

void WriteParameters(const core::Parameters& params, JsonWriter& w) {
  w.BeginObject();
  WriteParameterMembers(params, w);
  w.EndObject();
}

// A router's route as response parameters (ferry-model-version a number, the rest strings).
void WriteRoute(const core::RouteInfo& route, JsonWriter& w) {
  route.ForEachField([&](std::string_view key, std::string_view value) {
    w.Key(key);
    if (key == "ferry-model-version") {
      w.Number(route.version);
    } else {
      w.String(value);
    }
  });
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

// One input or output tensor: name, datatype, shape, then its data inline, or, when `binary`, its
// binary_data_size (the bytes go after the JSON).
void WriteTensor(const core::Tensor& t, bool binary, JsonWriter& w) {
  w.BeginObject();
  WriteTensorHeader(t.name(), t.type(), t.shape(), w);
  if (binary) {
    w.Key("parameters");
    w.BeginObject();
    w.Key("binary_data_size");
    w.Number(t.byte_size());
    w.EndObject();
  } else {
    w.Key("data");
    core::WriteTensorData(t, w);
  }
  w.EndObject();
}

}  // namespace

void EncodeTensorData(const core::Tensor& t, std::string& out) {
  JsonWriter w(out);
  core::WriteTensorData(t, w);
}

OutputFormat::OutputFormat(const core::InferenceRequest& request) {
  auto flag = [](const core::Parameters& params, std::string_view key) -> std::optional<bool> {
    auto it = params.find(key);
    if (it == params.end()) return std::nullopt;
    if (const bool* b = std::get_if<bool>(&it->second)) return *b;
    return std::nullopt;
  };
  all_binary_ = flag(request.parameters, "binary_data_output").value_or(false);
  for (const auto& output : request.outputs) {
    if (auto binary = flag(output.parameters, "binary_data")) overrides_.emplace_back(output.name, *binary);
  }
}

bool OutputFormat::IsBinary(std::string_view output) const {
  for (const auto& [name, binary] : overrides_) {
    if (name == output) return binary;
  }
  return all_binary_;
}

std::optional<std::size_t> EncodeInferResponse(const core::InferenceResponse& response, const OutputFormat& format,
                                               std::string& out) {
  const std::size_t start = out.size();
  bool any_binary = false;
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
  if (!response.parameters.empty() || !response.route.empty()) {
    w.Key("parameters");
    w.BeginObject();
    WriteParameterMembers(response.parameters, w);
    WriteRoute(response.route, w);
    w.EndObject();
  }
  w.Key("outputs");
  w.BeginArray();
  for (const core::Tensor& t : response.outputs) {
    const bool binary = format.IsBinary(t.name());
    any_binary |= binary;
    WriteTensor(t, binary, w);
  }
  w.EndArray();
  w.EndObject();
  if (!any_binary) return std::nullopt;
  const std::size_t json_size = out.size() - start;
  for (const core::Tensor& t : response.outputs) {
    if (format.IsBinary(t.name())) out.append(reinterpret_cast<const char*>(t.bytes().data()), t.byte_size());
  }
  return json_size;
}

std::optional<std::size_t> EncodeInferRequest(const core::InferenceRequest& request, bool binary_inputs,
                                              bool binary_outputs, std::string& out) {
  const std::size_t start = out.size();
  JsonWriter w(out);
  w.BeginObject();
  if (!request.id.empty()) {
    w.Key("id");
    w.String(request.id);
  }
  core::Parameters parameters = request.parameters;
  if (binary_outputs) parameters["binary_data_output"] = true;
  if (!parameters.empty()) {
    w.Key("parameters");
    WriteParameters(parameters, w);
  }
  w.Key("inputs");
  w.BeginArray();
  for (const core::Tensor& t : request.inputs) WriteTensor(t, binary_inputs, w);
  w.EndArray();
  if (!request.outputs.empty()) {
    w.Key("outputs");
    w.BeginArray();
    for (const auto& output : request.outputs) {
      w.BeginObject();
      w.Key("name");
      w.String(output.name);
      if (!output.parameters.empty()) {
        w.Key("parameters");
        WriteParameters(output.parameters, w);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  if (!binary_inputs) return std::nullopt;
  const std::size_t json_size = out.size() - start;
  for (const core::Tensor& t : request.inputs) out.append(reinterpret_cast<const char*>(t.bytes().data()), t.byte_size());
  return json_size;
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
  if (!metadata.record_fields.empty()) {
    // A pipeline: the record fields POST .../predict takes.
    w.Key("record_fields");
    w.BeginArray();
    for (const auto& field : metadata.record_fields) {
      w.BeginObject();
      w.Key("name");
      w.String(field.name);
      w.Key("type");
      w.String(core::FieldTypeName(field.type));
      if (field.type == core::FieldType::kArray) {
        w.Key("width");
        w.Number(static_cast<std::uint64_t>(field.width));
      }
      w.Key("required");
      w.Bool(field.required);
      if (field.default_value) {
        w.Key("default");
        const auto& d = *field.default_value;
        if (d.kind == core::Value::Kind::kBool) {
          w.Bool(d.boolean);
        } else if (d.kind == core::Value::Kind::kString) {
          w.String(d.text);
        } else {
          w.Number(d.number);
        }
      }
      w.EndObject();
    }
    w.EndArray();
  }
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
