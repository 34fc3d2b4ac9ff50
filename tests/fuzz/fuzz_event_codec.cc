// Fuzz target: the stream event codecs (stream/event_codec.h), what every Kafka or MQTT event
// goes through whatever its bytes: the first byte picks the source encoder (json: a KServe V2
// request; raw: the bytes as one BYTES element, for a model that takes one or one that does not),
// the rest is the event. A decoded request is answered with its own inputs and encoded by every
// sink encoder; the bytes are also a reason for EncodeEventError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/inference.h"
#include "stream/event_codec.h"

using namespace ferry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  core::ModelSignature bytes_model{.inputs = {{"text", core::DataType::kBytes, core::Shape({-1, 1})}}, .outputs = {}};
  core::ModelSignature fp32_model{.inputs = {{"features", core::DataType::kFp32, core::Shape({-1, 8})}}, .outputs = {}};
  const std::string_view encoder = data[0] % 3 == 0 ? "json" : "raw";
  const core::ModelSignature* signature = data[0] % 3 == 2 ? &fp32_model : &bytes_model;
  if (auto request = stream::DecodeEventRequest(payload, encoder, signature)) {
    core::InferenceResponse response;
    response.model_name = "echo";
    response.outputs = std::move(request->inputs);
    for (const std::string_view sink : {"json", "raw", "none"}) (void)stream::EncodeEventAnswer(response, payload, sink);
  }
  (void)stream::EncodeEventError(payload);
  return 0;
}
