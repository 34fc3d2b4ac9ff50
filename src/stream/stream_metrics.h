// The metrics and status of Kafka streams: each stream's counters, and their renderings --
// Prometheus for /metrics (the families ferry_stream_*, one sample a stream) and JSON for
// GET /v2/streams.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stream/stream_health.h"

namespace ferry::stream {

// Why an event went to the error topic (header ferry-error-class; docs/streaming.md).
enum class DeadLetterClass { kDecode, kValidation, kModel, kUnknownModel, kTooLarge, kRefused };
inline constexpr DeadLetterClass kDeadLetterClasses[] = {DeadLetterClass::kDecode,       DeadLetterClass::kValidation,
                                                         DeadLetterClass::kModel,        DeadLetterClass::kUnknownModel,
                                                         DeadLetterClass::kTooLarge,     DeadLetterClass::kRefused};
std::string_view ClassName(DeadLetterClass c);

// Why a stream paused its consumption to retry a batch.
enum class PauseReason { kModelUnavailable, kQueueFull, kTimeout };
inline constexpr PauseReason kPauseReasons[] = {PauseReason::kModelUnavailable, PauseReason::kQueueFull,
                                                PauseReason::kTimeout};
std::string_view ReasonName(PauseReason r);

// Counters of one stream, for /metrics. Updated by the stream's threads, read by any.
struct StreamCounters {
  std::atomic<std::uint64_t> consumed{0};   // events read from the source
  std::atomic<std::uint64_t> produced{0};   // outputs acknowledged by the sink
  std::atomic<std::uint64_t> errors{0};     // events sent to the error topic
  std::atomic<std::uint64_t> skipped{0};    // events a pipeline step or a model hook skipped
  std::atomic<std::uint64_t> duplicated{0}; // events read again that already had an answer
  std::atomic<std::uint64_t> batches{0};    // batches inferred
  std::atomic<std::uint64_t> retries{0};    // batches retried because the model could not take them
  std::atomic<std::uint64_t> commits{0};    // offset commits
  std::atomic<std::uint64_t> truncated{0};  // error-topic copies cut to fit the producer's limit
  std::atomic<std::uint64_t> feedback{0};   // messages read from the feedback topic
  std::atomic<std::uint64_t> feedback_malformed{0};  // of them, not feedback JSON or for no router
  std::array<std::atomic<std::uint64_t>, std::size(kDeadLetterClasses)> dead_letters{};  // by DeadLetterClass
  std::array<std::atomic<std::uint64_t>, std::size(kPauseReasons)> pauses{};  // by PauseReason
};

// One stream as /metrics and /v2/streams see it; shared, so that they can read it after the
// stream is gone.
struct StreamView {
  std::string name;
  std::string transport = "kafka";       // the source's: kafka | mqtt
  std::string sink_transport = "kafka";  // the sink's and the error topic's
  std::string source_topic, model, sink_topic, errors_topic, group;
  bool required = true;
  std::shared_ptr<const StreamCounters> counters;
  std::shared_ptr<const StreamHealth> health;
};

// Appends the Prometheus metrics of these streams to `out`.
void RenderStreamMetrics(const std::vector<StreamView>& streams, std::string& out);
// Appends one JSON object a stream (name, topics, state, reason, partitions with their lag, ...).
void RenderStreamStatus(const std::vector<StreamView>& streams, std::vector<std::string>& objects);
// Why these streams keep the server from being ready (a required stream stopped), or empty.
std::string StreamsNotReady(const std::vector<StreamView>& streams);

}  // namespace ferry::stream
