// Event: one message a stream consumed, as the run loop, the codecs, routers and sinks see it
// whatever the transport brought it: its payload, its headers (Kafka headers, MQTT 5 user
// properties), its key (the Kafka key, the MQTT topic), the topic it came on, where it came from
// (for the `ferry-source` a sink writes), and where the sender wants the answer when it asked for
// one (MQTT 5 Response Topic and Correlation Data; Kafka reply headers where configured). A view:
// it lives no longer than the message.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "routing/servable.h"

namespace ferry::stream {

// A request's reply address: the topic (on the sink's transport), the correlation to hand back,
// and for Kafka the partition asked for (Spring's kafka_replyPartition), if any.
struct ReplyTo {
  std::string_view topic;
  std::optional<std::string_view> correlation;
  std::optional<std::int32_t> partition;
};

class Event : public routing::CallContext {
 public:
  virtual std::string_view Payload() const = 0;
  virtual std::string_view Topic() const = 0;
  // Where the event came from, as the `ferry-source` header says it: topic/partition/offset for
  // Kafka, the topic for MQTT.
  virtual std::string Origin() const = 0;
  // Each header in order, for sinks that copy them.
  virtual void ForEachHeader(const std::function<void(std::string_view name, std::string_view value)>& f) const = 0;
  virtual std::optional<ReplyTo> Reply() const { return std::nullopt; }
};

// Header names compare case-insensitively (HTTP's rule, so that routers read `ferry-model`
// whatever the producer's spelling).
bool SameHeaderName(std::string_view a, std::string_view b);

}  // namespace ferry::stream
