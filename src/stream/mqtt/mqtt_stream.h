// MqttStream: one MQTT stream of ferry.yaml on its own thread (docs/streaming.md#mqtt): it
// subscribes to the source filter (as $share/<group>/... when replicas split the messages),
// takes the messages in batches, runs them through the stream's servable (BatchInference, as
// Kafka streams do), publishes each answer to the sink topic -- or, for an MQTT 5 request with a
// Response Topic, to that topic with its Correlation Data -- and bad messages to the error topic
// with the reason (user properties on MQTT 5, a JSON envelope on 3.1.1).
//
// At least once: a QoS 1 message is acknowledged only after everything it caused is published
// and acknowledged by the broker; the connection is a persistent session (clean false), so what
// a stopped or killed instance had not acknowledged comes again. A lost connection abandons the
// batch in hand and reconnects with a growing delay. Retained messages are acknowledged and not
// answered unless `retained: true`.
#pragma once

#include <memory>

#include "core/error.h"
#include "runtime/server.h"
#include "stream/running_stream.h"
#include "stream/stream_config.h"

namespace ferry::stream::mqtt {

class MqttStream {
 public:
  // Starts the stream's thread; the broker being unreachable is not a failure (it backs off).
  static core::Result<std::unique_ptr<RunningStream>> Start(const MqttConfig& mqtt, const StreamSpec& spec,
                                                            runtime::Server& server);
};

}  // namespace ferry::stream::mqtt
