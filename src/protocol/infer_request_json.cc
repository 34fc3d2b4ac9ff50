// Decoding of KServe V2 JSON infer requests, with simdjson's DOM parser.
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "protocol/request_json.h"
#include "protocol/v2_json.h"

namespace ferry::protocol {
namespace {

using core::DataType;
using core::Result;
using simdjson::dom::element;
using simdjson::dom::element_type;

std::string_view KindName(element_type t) {
  switch (t) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64: return "an integer";
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "a value";
}

// Converts one JSON scalar to T for datatype `type`; nullopt with `why` set when it does not fit.
template <typename T>
bool ToInteger(element e, T* out) {
  if (e.type() == element_type::INT64) {
    const std::int64_t v = e.get_int64().value_unsafe();
    if constexpr (std::is_signed_v<T>) {
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
    } else {
      if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max()) return false;
    }
    *out = static_cast<T>(v);
    return true;
  }
  if (e.type() == element_type::UINT64) {
    const std::uint64_t v = e.get_uint64().value_unsafe();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return false;
    *out = static_cast<T>(v);
    return true;
  }
  return false;
}

// A floating-point value: a number, or null for NaN (a missing value; ferry's answers write NaN
// as null, so they read back).
bool ToDouble(element e, double* out) {
  switch (e.type()) {
    case element_type::INT64: *out = static_cast<double>(e.get_int64().value_unsafe()); return true;
    case element_type::UINT64: *out = static_cast<double>(e.get_uint64().value_unsafe()); return true;
    case element_type::DOUBLE: *out = e.get_double().value_unsafe(); return true;
    case element_type::NULL_VALUE: *out = std::numeric_limits<double>::quiet_NaN(); return true;
    default: return false;
  }
}

// Writes the scalars of a (possibly nested) `data` array into a tensor buffer, row-major.
class DataWriter {
 public:
  DataWriter(core::Tensor& tensor) : tensor_(tensor), out_(tensor.bytes().data()) {}

  Result<void> Write(element data) {
    FERRY_RETURN_IF_ERROR(Walk(data, 0));
    if (written_ != tensor_.element_count()) return CountMismatch();
    return {};
  }

 private:
  Result<void> Walk(element e, int depth) {
    if (e.type() == element_type::ARRAY) {
      if (depth > 64) return Fail("is nested more than 64 levels deep");
      const simdjson::dom::array items = e.get_array().value_unsafe();
      for (element child : items) FERRY_RETURN_IF_ERROR(Walk(child, depth + 1));
      return {};
    }
    if (written_ >= tensor_.element_count()) {
      ++written_;  // keep counting for the message
      return {};
    }
    FERRY_RETURN_IF_ERROR(Put(e));
    ++written_;
    return {};
  }

  Result<void> Put(element e) {
    switch (tensor_.type()) {
      case DataType::kBool:
        if (e.type() != element_type::BOOL) return Expected(e, "true or false");
        *reinterpret_cast<std::uint8_t*>(out_ + written_) = e.get_bool().value_unsafe() ? 1 : 0;
        return {};
      case DataType::kUint8: return PutInteger<std::uint8_t>(e);
      case DataType::kUint16: return PutInteger<std::uint16_t>(e);
      case DataType::kUint32: return PutInteger<std::uint32_t>(e);
      case DataType::kUint64: return PutInteger<std::uint64_t>(e);
      case DataType::kInt8: return PutInteger<std::int8_t>(e);
      case DataType::kInt16: return PutInteger<std::int16_t>(e);
      case DataType::kInt32: return PutInteger<std::int32_t>(e);
      case DataType::kInt64: return PutInteger<std::int64_t>(e);
      case DataType::kFp16:
      case DataType::kBf16:
      case DataType::kFp32: {
        double v = 0;
        if (!ToDouble(e, &v)) return Expected(e, "a number");
        const auto f = static_cast<float>(v);
        if (std::isinf(f) && !std::isinf(v)) return OutOfRange(e);
        if (tensor_.type() == DataType::kFp32) {
          reinterpret_cast<float*>(out_)[written_] = f;
        } else {
          const std::uint16_t bits = tensor_.type() == DataType::kFp16 ? core::FloatToHalf(f) : core::FloatToBf16(f);
          if (tensor_.type() == DataType::kFp16 && std::isinf(core::HalfToFloat(bits)) && !std::isinf(f)) {
            return OutOfRange(e);
          }
          reinterpret_cast<std::uint16_t*>(out_)[written_] = bits;
        }
        return {};
      }
      case DataType::kFp64: {
        double v = 0;
        if (!ToDouble(e, &v)) return Expected(e, "a number");
        reinterpret_cast<double*>(out_)[written_] = v;
        return {};
      }
      case DataType::kBytes: break;  // decoded by DecodeBytes
    }
    return core::Internal("BYTES data reached the fixed-size decoder");
  }

  template <typename T>
  Result<void> PutInteger(element e) {
    T v{};
    if (ToInteger<T>(e, &v)) {
      reinterpret_cast<T*>(out_)[written_] = v;
      return {};
    }
    if (e.type() == element_type::INT64 || e.type() == element_type::UINT64) return OutOfRange(e);
    return Expected(e, "an integer");
  }

  std::unexpected<core::Error> Expected(element e, std::string_view what) {
    return Fail(fmt::format("element {} is {}, expected {} for {}", written_, KindName(e.type()), what,
                            core::DataTypeName(tensor_.type())));
  }
  std::unexpected<core::Error> OutOfRange(element e) {
    return Fail(fmt::format("element {} ({}) is out of range for {}", written_, simdjson::minify(e),
                            core::DataTypeName(tensor_.type())));
  }
  std::unexpected<core::Error> CountMismatch() {
    return Fail(fmt::format("shape {} needs {} values, data has {}", tensor_.shape().ToString(),
                            tensor_.element_count(), written_));
  }
  std::unexpected<core::Error> Fail(std::string what) {
    return core::InvalidArgument(fmt::format("input '{}': {}", tensor_.name(), what));
  }

  core::Tensor& tensor_;
  std::byte* out_;
  std::int64_t written_ = 0;
};

// BYTES: two passes, the first to size the buffer, the second to fill it.
Result<void> SizeBytes(element e, const std::string& name, std::int64_t* count, std::size_t* bytes, int depth,
                       std::size_t max_element) {
  if (e.type() == element_type::ARRAY) {
    if (depth > 64) return core::InvalidArgument(fmt::format("input '{}': data is nested too deep", name));
    const simdjson::dom::array items = e.get_array().value_unsafe();
    for (element child : items) FERRY_RETURN_IF_ERROR(SizeBytes(child, name, count, bytes, depth + 1, max_element));
    return {};
  }
  if (e.type() != element_type::STRING) {
    return core::InvalidArgument(fmt::format("input '{}': element {} is {}, expected a string for BYTES", name,
                                             *count, KindName(e.type())));
  }
  const std::size_t length = e.get_string_length().value_unsafe();
  if (length > max_element) {
    return core::InvalidArgument(fmt::format("input '{}': element {} has {} bytes, more than the limit of {} "
                                             "(--max-bytes-element)", name, *count, length, max_element));
  }
  *bytes += 4 + length;
  ++*count;
  return {};
}

void FillBytes(element e, std::byte*& out) {
  if (e.type() == element_type::ARRAY) {
    const simdjson::dom::array items = e.get_array().value_unsafe();
    for (element child : items) FillBytes(child, out);
    return;
  }
  out += core::WriteBytesElement(out, e.get_string().value_unsafe());
}

Result<core::Shape> DecodeShape(element e, const std::string& name) {
  simdjson::dom::array dims;
  if (e.get_array().get(dims)) {
    return core::InvalidArgument(fmt::format("input '{}': 'shape' must be an array of non-negative integers", name));
  }
  core::Shape shape;
  for (element d : dims) {
    std::int64_t v = 0;
    if (d.get_int64().get(v) || v < 0) {
      return core::InvalidArgument(fmt::format("input '{}': 'shape' must hold non-negative integers, got {}", name,
                                               simdjson::minify(d)));
    }
    shape.mutable_dims().push_back(v);
  }
  return shape;
}

// The binary part of a request (binary tensor extension): inputs with binary_data_size take their
// bytes from it in the order the JSON lists them.
class BinaryCursor {
 public:
  explicit BinaryCursor(std::span<const std::byte> binary) : binary_(binary) {}

  Result<std::span<const std::byte>> Take(const std::string& input, const core::ParameterValue& size) {
    const auto* n = std::get_if<std::int64_t>(&size);
    if (!n || *n < 0) {
      return core::InvalidArgument(fmt::format("input '{}': binary_data_size must be a non-negative integer", input));
    }
    const std::size_t remaining = binary_.size() - used_;
    if (static_cast<std::uint64_t>(*n) > remaining) {
      return core::InvalidArgument(fmt::format("input '{}': binary_data_size {} runs past the end of the body ({} "
                                               "bytes of binary data remain)", input, *n, remaining));
    }
    auto bytes = binary_.subspan(used_, static_cast<std::size_t>(*n));
    used_ += bytes.size();
    return bytes;
  }

  std::size_t unclaimed() const { return binary_.size() - used_; }

 private:
  std::span<const std::byte> binary_;
  std::size_t used_ = 0;
};

// Checks a BYTES tensor's elements against the length limit (binary data, decoded elsewhere).
Result<void> CheckBytesElements(const core::Tensor& t, std::size_t max_element) {
  if (t.type() != DataType::kBytes) return {};
  std::size_t longest = 0;
  core::ForEachBytesElement(t.bytes(), [&](std::string_view s) { longest = std::max(longest, s.size()); });
  if (longest > max_element) {
    return core::InvalidArgument(fmt::format("input '{}': an element has {} bytes, more than the limit of {} "
                                             "(--max-bytes-element)", t.name(), longest, max_element));
  }
  return {};
}

Result<core::Tensor> DecodeInput(element e, std::size_t index, std::size_t json_size, BinaryCursor& binary,
                                 const core::RequestLimits& limits) {
  simdjson::dom::object input;
  if (e.get_object().get(input)) {
    return core::InvalidArgument(fmt::format("'inputs'[{}] must be an object with name, shape, datatype and data", index));
  }
  std::string_view name_view;
  if (input["name"].get_string().get(name_view)) {
    return core::InvalidArgument(fmt::format("'inputs'[{}] needs a string 'name'", index));
  }
  std::string name(name_view);
  std::string_view type_name;
  if (input["datatype"].get_string().get(type_name)) {
    return core::InvalidArgument(fmt::format("input '{}' needs a string 'datatype' (such as \"FP32\")", name));
  }
  const auto type = core::ParseDataType(type_name);
  if (!type) {
    return core::InvalidArgument(fmt::format("input '{}': unknown datatype '{}' (use BOOL, UINT8, UINT16, UINT32, "
                                             "UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16 or BYTES)",
                                             name, type_name));
  }
  element shape_element;
  if (input["shape"].get(shape_element)) return core::InvalidArgument(fmt::format("input '{}' needs a 'shape'", name));
  FERRY_ASSIGN_OR_RETURN(core::Shape shape, DecodeShape(shape_element, name));
  const auto count = shape.ElementCount();
  if (!count || *count > limits.max_tensor_elements) {
    return core::InvalidArgument(fmt::format("input '{}': shape {} has more elements than the limit of {} "
                                             "(--max-tensor-elements)", name, shape.ToString(),
                                             limits.max_tensor_elements));
  }
  element data;
  const bool has_data = !input["data"].get(data);
  if (element params; !input["parameters"].get(params)) {
    FERRY_ASSIGN_OR_RETURN(auto p, DecodeParameters(params, fmt::format("input '{}': ", name)));
    if (auto size = p.find("binary_data_size"); size != p.end()) {
      if (has_data) {
        return core::InvalidArgument(fmt::format("input '{}' has both 'data' and binary_data_size; send one", name));
      }
      FERRY_ASSIGN_OR_RETURN(auto raw, binary.Take(name, size->second));
      FERRY_ASSIGN_OR_RETURN(auto tensor, core::Tensor::FromRaw(std::move(name), *type, std::move(shape), raw));
      FERRY_RETURN_IF_ERROR(CheckBytesElements(tensor, limits.max_bytes_element));
      return tensor;
    }
  }
  if (!has_data) return core::InvalidArgument(fmt::format("input '{}' needs 'data'", name));
  // Every JSON value takes at least one byte, so a count above the JSON size cannot match.
  if (static_cast<std::uint64_t>(*count) > json_size) {
    return core::InvalidArgument(fmt::format("input '{}': shape {} has more elements than the request carries",
                                             name, shape.ToString()));
  }

  if (*type == DataType::kBytes) {
    std::int64_t n = 0;
    std::size_t bytes = 0;
    FERRY_RETURN_IF_ERROR(SizeBytes(data, name, &n, &bytes, 0, limits.max_bytes_element));
    if (n != *count) {
      return core::InvalidArgument(fmt::format("input '{}': shape {} needs {} values, data has {}", name,
                                               shape.ToString(), *count, n));
    }
    core::Tensor tensor = core::Tensor::AllocateBytes(std::move(name), *type, std::move(shape), bytes);
    std::byte* out = tensor.bytes().data();
    FillBytes(data, out);
    return tensor;
  }
  FERRY_ASSIGN_OR_RETURN(core::Tensor tensor, core::Tensor::Allocate(std::move(name), *type, std::move(shape)));
  DataWriter writer(tensor);
  FERRY_RETURN_IF_ERROR(writer.Write(data));
  return tensor;
}

Result<core::RequestedOutput> DecodeOutput(element e, std::size_t index) {
  simdjson::dom::object object;
  std::string_view name;
  if (e.get_object().get(object) || object["name"].get_string().get(name)) {
    return core::InvalidArgument(fmt::format("'outputs'[{}] must be an object with a string 'name'", index));
  }
  core::RequestedOutput output{.name = std::string(name), .parameters = {}};
  if (element params; !object["parameters"].get(params)) {
    FERRY_ASSIGN_OR_RETURN(output.parameters, DecodeParameters(params, fmt::format("output '{}': ", name)));
  }
  return output;
}

}  // namespace

Result<core::Parameters> DecodeParameters(element e, std::string_view where) {
  simdjson::dom::object object;
  if (e.get_object().get(object)) {
    return core::InvalidArgument(fmt::format("{}'parameters' must be an object", where));
  }
  core::Parameters params;
  for (auto [key, value] : object) {
    switch (value.type()) {
      case element_type::BOOL: params.emplace(key, value.get_bool().value_unsafe()); break;
      case element_type::INT64: params.emplace(key, value.get_int64().value_unsafe()); break;
      case element_type::UINT64: params.emplace(key, static_cast<double>(value.get_uint64().value_unsafe())); break;
      case element_type::DOUBLE: params.emplace(key, value.get_double().value_unsafe()); break;
      case element_type::STRING: params.emplace(key, std::string(value.get_string().value_unsafe())); break;
      default:
        return core::InvalidArgument(fmt::format("{}parameter '{}' must be a string, number or boolean, got {}",
                                                 where, key, KindName(value.type())));
    }
  }
  return params;
}

core::Result<element> ParseRequestJson(std::string_view json, const core::RequestLimits& limits) {
  thread_local simdjson::dom::parser parser;
  // --max-json-depth counts containers; simdjson's depth counts the scalars inside them too.
  const std::size_t depth = limits.max_json_depth + 1;
  if (parser.max_depth() != depth || parser.capacity() < json.size()) {
    if (parser.allocate(std::max(parser.capacity(), json.size()), depth)) {
      return core::MakeError(core::ErrorCode::kResourceExhausted, "cannot allocate the JSON parser");
    }
  }
  element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) {
    if (error == simdjson::DEPTH_ERROR) {
      return core::InvalidArgument(fmt::format("request body nests JSON deeper than {} levels (--max-json-depth)",
                                               limits.max_json_depth));
    }
    return core::InvalidArgument(fmt::format("request body is not valid JSON: {}", simdjson::error_message(error)));
  }
  return root;
}

Result<core::InferenceRequest> DecodeInferRequest(std::string_view json, std::span<const std::byte> binary,
                                                   const core::RequestLimits& limits) {
  BinaryCursor cursor(binary);
  FERRY_ASSIGN_OR_RETURN(const element root, ParseRequestJson(json, limits));
  simdjson::dom::object object;
  if (root.get_object().get(object)) return core::InvalidArgument("request body must be a JSON object");

  core::InferenceRequest request;
  for (auto [key, value] : object) {
    if (key == "id") {
      std::string_view id;
      if (value.get_string().get(id)) return core::InvalidArgument("'id' must be a string");
      request.id = std::string(id);
    } else if (key == "parameters") {
      FERRY_ASSIGN_OR_RETURN(request.parameters, DecodeParameters(value, ""));
    } else if (key == "inputs") {
      simdjson::dom::array inputs;
      if (value.get_array().get(inputs)) return core::InvalidArgument("'inputs' must be an array of tensors");
      if (inputs.size() > limits.max_inputs) {
        return core::InvalidArgument(fmt::format("request has {} inputs, more than the limit of {} (--max-inputs)",
                                                 inputs.size(), limits.max_inputs));
      }
      std::size_t index = 0;
      for (element input : inputs) {
        FERRY_ASSIGN_OR_RETURN(auto tensor, DecodeInput(input, index++, json.size(), cursor, limits));
        request.inputs.push_back(std::move(tensor));
      }
    } else if (key == "outputs") {
      simdjson::dom::array outputs;
      if (value.get_array().get(outputs)) return core::InvalidArgument("'outputs' must be an array of {\"name\": ...}");
      std::size_t index = 0;
      for (element output : outputs) {
        FERRY_ASSIGN_OR_RETURN(auto wanted, DecodeOutput(output, index++));
        request.outputs.push_back(std::move(wanted));
      }
    } else if (key == "model_name") {  // a stream event may name its model (HTTP takes it from the URL)
      std::string_view name;
      if (value.get_string().get(name)) return core::InvalidArgument("'model_name' must be a string");
      request.model_name = std::string(name);
    } else if (key == "model_version") {
      std::int64_t version = 0;
      std::string_view text;
      if (!value.get_string().get(text)) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
        if (ec != std::errc() || end != text.data() + text.size()) version = 0;
      } else if (value.get_int64().get(version)) {
        version = 0;
      }
      if (version < 1) return core::InvalidArgument("'model_version' must be a positive integer (or its string)");
      request.model_version = version;
    }
    // Other keys are ignored, as KServe servers do.
  }
  if (object["inputs"].error()) {
    return core::InvalidArgument("request needs 'inputs', an array of {name, shape, datatype, data}");
  }
  if (cursor.unclaimed() > 0) {
    return core::InvalidArgument(fmt::format("the body has {} bytes of binary data that no input claims with "
                                             "binary_data_size", cursor.unclaimed()));
  }
  return request;
}

Result<core::InferenceResponse> DecodeInferResponse(std::string_view json, std::span<const std::byte> binary) {
  BinaryCursor cursor(binary);
  simdjson::dom::parser parser;  // a client's own: not limited like requests to the server
  element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) {
    return core::InvalidArgument(fmt::format("response is not valid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return core::InvalidArgument("response must be a JSON object");
  core::InferenceResponse response;
  std::string_view text;
  if (!object["model_name"].get_string().get(text)) response.model_name = std::string(text);
  if (!object["id"].get_string().get(text)) response.id = std::string(text);
  if (!object["model_version"].get_string().get(text)) {
    std::from_chars(text.data(), text.data() + text.size(), response.model_version);
  }
  if (element params; !object["parameters"].get(params)) {
    FERRY_ASSIGN_OR_RETURN(response.parameters, DecodeParameters(params, ""));
  }
  simdjson::dom::array outputs;
  if (object["outputs"].get_array().get(outputs)) return core::InvalidArgument("response has no 'outputs' array");
  std::size_t index = 0;
  for (element output : outputs) {  // outputs have the layout of inputs: name, datatype, shape, data
    FERRY_ASSIGN_OR_RETURN(auto tensor, DecodeInput(output, index++, json.size(), cursor, core::RequestLimits{
        .max_inputs = SIZE_MAX, .max_tensor_elements = INT64_MAX, .max_json_depth = 64, .max_bytes_element = SIZE_MAX}));
    response.outputs.push_back(std::move(tensor));
  }
  return response;
}

Result<runtime::ModelMetadata> DecodeModelMetadata(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) {
    return core::InvalidArgument(fmt::format("metadata is not valid JSON: {}", simdjson::error_message(error)));
  }
  runtime::ModelMetadata metadata;
  std::string_view text;
  if (!root["name"].get_string().get(text)) metadata.name = std::string(text);
  if (!root["platform"].get_string().get(text)) metadata.platform = std::string(text);
  for (auto [key, side] : {std::pair{"inputs", &metadata.signature.inputs}, {"outputs", &metadata.signature.outputs}}) {
    simdjson::dom::array tensors;
    if (root[key].get_array().get(tensors)) return core::InvalidArgument(fmt::format("metadata has no '{}' array", key));
    for (element t : tensors) {
      core::TensorSpec spec;
      std::string_view name, datatype;
      simdjson::dom::array dims;
      if (t["name"].get_string().get(name) || t["datatype"].get_string().get(datatype) ||
          t["shape"].get_array().get(dims)) {
        return core::InvalidArgument(fmt::format("metadata '{}' entries need name, datatype and shape", key));
      }
      auto type = core::ParseDataType(datatype);
      if (!type) return core::InvalidArgument(fmt::format("metadata names unknown datatype '{}'", datatype));
      spec.name = std::string(name);
      spec.type = *type;
      for (element d : dims) {
        std::int64_t v = 0;
        if (d.get_int64().get(v)) return core::InvalidArgument("metadata shapes must hold integers");
        spec.shape.mutable_dims().push_back(v);
      }
      side->push_back(std::move(spec));
    }
  }
  return metadata;
}

}  // namespace ferry::protocol
