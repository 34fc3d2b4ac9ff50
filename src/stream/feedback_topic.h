// FeedbackSubscriber: a stream's `feedback: {topic}` (docs/routing.md). Every serving instance
// reads every partition of the topic (not as part of a group), from its end at start, and hands
// each message -- the JSON of POST /v2/models/{r}/feedback: {"decision_id", "reward" | "rewards"},
// or a list of them -- to the router its ferry-model header names, or the stream's model.
// Decisions are made and remembered by one instance; the others answer "unknown" for them, so
// each decision is credited once, by the instance that made it. Malformed messages are counted
// and logged; nothing stops the stream.
// Thread safety: Start and Stop from one thread; the subscriber runs on its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/error.h"
#include "runtime/server.h"
#include "stream/stream_config.h"
#include "stream/stream_metrics.h"

namespace ferry::stream {

class FeedbackSubscriber {
 public:
  // Counts into the stream's `counters` (feedback, feedback_malformed), which must outlive it.
  static core::Result<std::unique_ptr<FeedbackSubscriber>> Start(const StreamConfig& kafka, const StreamSpec& spec,
                                                                 runtime::Server& server, StreamCounters& counters);
  ~FeedbackSubscriber();
  void Stop();

 private:
  struct Impl;
  FeedbackSubscriber();
  std::unique_ptr<Impl> impl_;
  std::jthread thread_;
};

}  // namespace ferry::stream
