// The KServe V2 / Open Inference Protocol JSON codecs: pure functions from bytes to ferry's types
// and back. Decoding writes tensor elements straight into each tensor's buffer (no per-element
// allocation); encoding writes straight out of it. Every decoding error is kInvalidArgument with a
// message naming the field or input and what was expected.
// Thread safety: all functions may run concurrently (the parser is per thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/inference.h"
#include "runtime/server.h"

namespace ferry::protocol {

// Decodes an infer request body: {id?, parameters?, inputs: [...], outputs?: [...]}. The model
// name and version come from the URL and are set by the caller.
core::Result<core::InferenceRequest> DecodeInferRequest(std::string_view json);

// Appends the infer response JSON to `out`.
void EncodeInferResponse(const core::InferenceResponse& response, std::string& out);

// Appends the tensor's elements as a flat JSON array.
void EncodeTensorData(const core::Tensor& tensor, std::string& out);

std::string EncodeServerMetadata(const runtime::ServerMetadata& metadata);
std::string EncodeModelMetadata(const runtime::ModelMetadata& metadata);

// {"error": "<message>"}
std::string EncodeError(std::string_view message);

}  // namespace ferry::protocol
