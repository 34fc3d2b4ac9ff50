// How stream events become calls and answers become sink messages (docs/streaming.md): a source
// event is a KServe V2 JSON request (encoder json) or raw bytes for a model's one BYTES input
// (raw); an answer is written as V2 JSON (json), as its first output's bytes (raw), or the sink
// gets the event itself (none), whatever the transport. Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::stream {

// A codec's error, said of an event rather than of a request body.
std::string EventError(const core::Error& error);

// An event as a request: V2 JSON (`encoder` json), or its bytes as the one BYTES element of the
// first input of `signature` (raw).
core::Result<core::InferenceRequest> DecodeEventRequest(std::string_view payload, std::string_view encoder,
                                                        const core::ModelSignature* signature);

// The sink message for an answer to `payload`, by the sink's `encoder` (json, raw or none).
std::string EncodeEventAnswer(const core::InferenceResponse& response, std::string_view payload,
                              std::string_view encoder);

// What a request that could not be answered gets on its reply topic: {"error": reason}.
std::string EncodeEventError(std::string_view reason);

}  // namespace ferry::stream
