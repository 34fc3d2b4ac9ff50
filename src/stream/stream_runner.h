// StreamRunner: a stream of ferry.yaml with a Kafka source, on its own thread: consume the source
// topic in batches, run each batch of events through the stream's servable (runtime::Server),
// write one answer an event to the sink topic in source order and bad events to the error topic
// (event_sink.h: Kafka topics, or MQTT topics),
// and commit a batch's source offsets only once every event of it is decided and every message
// it caused acknowledged by the broker (offset_ledger.h: at least once; nothing is lost).
//
// The error topic is for events that are bad, not for ferry's own trouble. While the model
// cannot take a batch (missing from the repository, unavailable, its queue full, a timeout), the
// assigned partitions are paused and the batch retried with a growing delay; a shutdown or a
// rebalance during the wait leaves the batch uncommitted, to be read again. Stop() finishes the
// batch in hand (unless it waits for its model), waits for its messages to be acknowledged,
// commits, and leaves the consumer group.
//
// Its state (stream_health.h) says what it is doing; a stream that stops for good (a message that
// cannot be written, a bad event under `errors: {tolerance: none}`) leaves its group so that
// other instances take its partitions, and says why. A stream with `feedback: {topic}` also
// reads its router's feedback (feedback_topic.h).
#pragma once

#include <memory>
#include <thread>

#include "core/error.h"
#include "runtime/server.h"
#include "stream/feedback_topic.h"
#include "stream/running_stream.h"
#include "stream/stream_config.h"
#include "stream/stream_health.h"
#include "stream/stream_metrics.h"

namespace ferry::stream {

class StreamRunner final : public RunningStream {
 public:
  // Connects to Kafka and starts the stream's thread. Fails when librdkafka refuses the
  // configuration (a property it does not know, ...); Kafka being unreachable is not a failure
  // (the stream backs off and retries).
  static core::Result<std::unique_ptr<RunningStream>> Start(const StreamConfig& kafka, const StreamSpec& spec,
                                                           runtime::Server& server);
  ~StreamRunner() override;  // Stop()s

  void Stop() override;
  const StreamSpec& spec() const { return spec_; }
  StreamView view() const override;

 private:
  struct Impl;
  explicit StreamRunner(StreamSpec spec);

  StreamSpec spec_;
  std::shared_ptr<StreamCounters> counters_ = std::make_shared<StreamCounters>();
  std::shared_ptr<StreamHealth> health_ = std::make_shared<StreamHealth>();
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<FeedbackSubscriber> feedback_;  // with `feedback: {topic}`
  std::jthread thread_;
  std::jthread progress_;  // reads the partitions' watermarks for the lag
};

}  // namespace ferry::stream
