#include "stream/event_codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/json_writer.h"
#include "protocol/v2_json.h"
#include "stream/event.h"

namespace ferry::stream {

bool SameHeaderName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string EventError(const core::Error& error) {
  std::string message = error.message;
  if (message.starts_with("request body")) message.replace(0, 12, "the event");
  return message;
}

core::Result<core::InferenceRequest> DecodeEventRequest(std::string_view payload, std::string_view encoder,
                                                        const core::ModelSignature* signature) {
  if (encoder == "json") {
    auto decoded = protocol::DecodeInferRequest(payload);
    if (!decoded) return core::InvalidArgument(EventError(decoded.error()));
    return decoded;
  }
  if (!signature || signature->inputs.empty()) return core::InvalidArgument("the model has no input");
  const auto& spec = signature->inputs.front();
  std::vector<std::int64_t> dims(spec.shape.dims().begin(), spec.shape.dims().end());
  for (auto& d : dims) d = d < 0 ? 1 : d;
  if (spec.type != core::DataType::kBytes || core::Shape(dims).ElementCount().value_or(0) != 1) {
    return core::InvalidArgument(fmt::format("raw events need a model whose first input takes one BYTES element; "
                                             "'{}' is {} {}",
                                             spec.name, core::DataTypeName(spec.type), spec.shape.ToString()));
  }
  auto tensor = core::Tensor::AllocateBytes(spec.name, core::DataType::kBytes, core::Shape(dims), 4 + payload.size());
  core::WriteBytesElement(tensor.bytes().data(), payload);
  core::InferenceRequest request;
  request.inputs.push_back(std::move(tensor));
  return request;
}

std::string EncodeEventAnswer(const core::InferenceResponse& response, std::string_view payload,
                              std::string_view encoder) {
  std::string out;
  if (encoder == "none") {
    out.assign(payload);
  } else if (encoder == "raw") {
    if (!response.outputs.empty()) {
      const core::Tensor& t = response.outputs.front();
      if (t.type() == core::DataType::kBytes) {
        core::ForEachBytesElement(t.bytes(), [&](std::string_view element) {
          if (out.empty()) out.assign(element);
        });
      } else {
        out.assign(reinterpret_cast<const char*>(t.bytes().data()), t.byte_size());
      }
    }
  } else {
    (void)protocol::EncodeInferResponse(response, protocol::OutputFormat(), out);
  }
  return out;
}

std::string EncodeEventError(std::string_view reason) {
  std::string body;
  core::JsonWriter w(body);
  w.BeginObject();
  w.Key("error");
  w.String(reason);
  w.EndObject();
  return body;
}

}  // namespace ferry::stream
