// The metrics of Kafka streams: each stream's counters, and their Prometheus rendering for
// /metrics (the families ferry_stream_*, one sample a stream).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ferry::stream {

// Counters of one stream, for /metrics. Updated by the stream's thread, read by any.
struct StreamCounters {
  std::atomic<std::uint64_t> consumed{0};   // events read from the source
  std::atomic<std::uint64_t> produced{0};   // outputs acknowledged by the sink
  std::atomic<std::uint64_t> errors{0};     // events sent to the error topic (or only logged)
  std::atomic<std::uint64_t> skipped{0};    // events a pipeline step or a model hook skipped
  std::atomic<std::uint64_t> duplicated{0}; // events read again that already had an answer
  std::atomic<std::uint64_t> batches{0};    // batches inferred
  std::atomic<std::uint64_t> retries{0};    // batches retried because the model could not take them
  std::atomic<std::uint64_t> commits{0};    // offset commits
  std::atomic<std::uint64_t> feedback{0};   // messages read from the feedback topic
  std::atomic<std::uint64_t> feedback_malformed{0};  // of them, not feedback JSON or for no router
};

// Appends the Prometheus metrics of these streams (name, counters) to `out`.
void RenderStreamMetrics(const std::vector<std::pair<std::string, std::shared_ptr<const StreamCounters>>>& streams,
                         std::string& out);

}  // namespace ferry::stream
