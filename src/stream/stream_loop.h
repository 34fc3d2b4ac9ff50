// StreamLoop: one stream of ferry.yaml on its own thread, whatever its transports -- the run loop
// that reads batches from its source (event_source.h: Kafka or MQTT), runs them through the
// stream's servable (batch_inference.h: routes, pipelines, models), writes what each event leads
// to through its sink (event_sink.h: Kafka or MQTT), and has the source acknowledge a batch only
// once the offset ledger says everything it caused is with the sink's broker (at least once).
//
// The error topic is for events that are bad, not for ferry's own trouble. While the model
// cannot take a batch (missing from the repository, unavailable, its queue full, a timeout), or
// the sink cannot deliver (its connection lost), the source is paused and the batch retried with
// a growing delay; a shutdown, or the source losing the batch (a rebalance, a lost connection),
// during the wait leaves the batch unacknowledged, to be read again. Stop() finishes the batch in
// hand (unless it waits), waits for its messages to be acknowledged, and acknowledges them.
//
// Its state (stream_health.h) says what it is doing; a stream that stops for good (a message that
// cannot be written, a bad event under `errors: {tolerance: none}`) says why.
#pragma once

#include <memory>

#include "core/error.h"
#include "runtime/server.h"
#include "stream/running_stream.h"
#include "stream/stream_config.h"

namespace ferry::stream {

// Connects the stream's source and sink and starts its thread. Fails when a client refuses the
// configuration; a broker out of reach is not a failure (the stream backs off and retries).
core::Result<std::unique_ptr<RunningStream>> StartStream(const StreamConfig& config, const StreamSpec& spec,
                                                         runtime::Server& server);

}  // namespace ferry::stream
