// StreamRunner: one stream of ferry.yaml on its own thread: consume the source topic in batches,
// run each batch of events through the stream's pipeline (runtime::Server::Predict), produce
// one output a record to the sink topic in source order, bad events to the error topic, and
// commit a batch's source offsets only once every message it caused is acknowledged by the
// broker (at least once: a crash replays what was not committed; nothing is lost).
//
// While the model cannot take the batch (its queue is full, it is loading), the assigned
// partitions are paused and the batch is retried: consumption waits instead of dropping events
// or piling them up in memory. Stop() finishes the batch in hand, waits for its messages to be
// acknowledged, commits, and leaves the consumer group. A stream with `feedback: {topic}` also
// reads its router's feedback (feedback_topic.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "runtime/server.h"
#include "stream/feedback_topic.h"
#include "stream/stream_config.h"
#include "stream/stream_metrics.h"

namespace ferry::stream {

class StreamRunner {
 public:
  // Connects to Kafka and starts the stream's thread. Fails when librdkafka refuses the
  // configuration (a property it does not know, ...).
  static core::Result<std::unique_ptr<StreamRunner>> Start(const StreamConfig& kafka, const StreamSpec& spec,
                                                           runtime::Server& server);
  ~StreamRunner();  // Stop()s

  void Stop();
  const StreamSpec& spec() const { return spec_; }
  // Shared, so that /metrics can read them after the runner is gone.
  std::shared_ptr<const StreamCounters> counters() const { return counters_; }

 private:
  struct Impl;
  explicit StreamRunner(StreamSpec spec);

  StreamSpec spec_;
  std::shared_ptr<StreamCounters> counters_ = std::make_shared<StreamCounters>();
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<FeedbackSubscriber> feedback_;  // with `feedback: {topic}`
  std::jthread thread_;
};

}  // namespace ferry::stream
