// Event: one message a stream consumed, as the run loop, the codecs and routers see it whatever
// the transport brought it: its payload, its headers (Kafka headers, MQTT 5 user properties) and
// its key (the Kafka key, the MQTT topic). A view: it lives no longer than the message.
#pragma once

#include <optional>
#include <string_view>

#include "routing/servable.h"

namespace ferry::stream {

class Event : public routing::CallContext {
 public:
  virtual std::string_view Payload() const = 0;
};

// Header names compare case-insensitively (HTTP's rule, so that routers read `ferry-model`
// whatever the producer's spelling).
bool SameHeaderName(std::string_view a, std::string_view b);

}  // namespace ferry::stream
