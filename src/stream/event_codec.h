// How stream events become calls and answers become sink messages (docs/streaming.md): a source
// event is a KServe V2 JSON request (encoder json) or raw bytes for a model's one BYTES input
// (raw); an answer is written as V2 JSON (json), as its first output's bytes (raw), or the sink
// gets the event itself (none). EventContext shows a Kafka event's headers and key to routers.
// Pure functions; safe from any thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/inference.h"
#include "routing/servable.h"

namespace ferry::stream {

// A Kafka event as routers see it: its headers (names compared case-insensitively; the last of a
// name wins) and its key. Lives no longer than the event.
class EventContext final : public routing::CallContext {
 public:
  explicit EventContext(const rd_kafka_message_t& event) : event_(event) {}
  std::optional<std::string_view> Header(std::string_view name) const override;
  std::optional<std::string_view> Key() const override;

 private:
  const rd_kafka_message_t& event_;
};

// A codec's error, said of an event rather than of a request body.
std::string EventError(const core::Error& error);

// An event as a request: V2 JSON (`encoder` json), or its bytes as the one BYTES element of the
// first input of `signature` (raw).
core::Result<core::InferenceRequest> DecodeEventRequest(std::string_view payload, std::string_view encoder,
                                                        const core::ModelSignature* signature);

// The sink message for an answer to `payload`, by the sink's `encoder` (json, raw or none).
std::string EncodeEventAnswer(const core::InferenceResponse& response, std::string_view payload,
                              std::string_view encoder);

}  // namespace ferry::stream
