// RunningStream: a stream of ferry.yaml on its own thread, whatever its transports
// (stream_loop.h), as `ferry serve` holds it.
#pragma once

#include "stream/stream_metrics.h"

namespace ferry::stream {

class RunningStream {
 public:
  virtual ~RunningStream() = default;
  // Finishes the batch in hand, waits for its answers to be acknowledged, and acknowledges or
  // commits its events.
  virtual void Stop() = 0;
  // For /metrics, /v2/streams and readiness, which may read it after the stream is gone.
  virtual StreamView view() const = 0;
};

}  // namespace ferry::stream
