// MqttStream: a stream of ferry.yaml with an MQTT source, on its own thread
// (docs/streaming.md#mqtt): it subscribes to the source filter (as $share/<group>/... when
// replicas split the messages), takes the messages in batches, runs them through the stream's
// servable (BatchInference, as Kafka streams do), and writes what they lead to through the
// stream's sink (event_sink.h: MQTT topics, or Kafka topics).
//
// At least once: a QoS 1 message is acknowledged, in the order received, only after everything
// it caused is with the sink's broker (the offset ledger); batches follow one another without
// waiting for that. The connection is a persistent session (clean false), so what a stopped or
// killed instance had not acknowledged comes again. A lost connection abandons the batch in hand
// and reconnects with a growing delay. Retained messages are acknowledged and not answered
// unless `retained: true`.
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
  static core::Result<std::unique_ptr<RunningStream>> Start(const StreamConfig& config, const StreamSpec& spec,
                                                            runtime::Server& server);
};

}  // namespace ferry::stream::mqtt
