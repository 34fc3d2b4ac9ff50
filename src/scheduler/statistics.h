// Statistics: the cumulative counters of one model version that the KServe/Triton statistics
// extension reports (GET /v2/models/{m}/stats, gRPC ModelStatistics).
//
// Per request: success and fail (count and total time from queueing to answer), queue (time
// waiting), compute_input/infer/output (time in the backend). Per execution: execution_count,
// inference_count (rows), and the compute times by batch size. Durations are nanoseconds.
//
// Thread safety: Record* may be called from any thread (the pool's workers); Snapshot too. One
// short, rarely contended lock per request.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "core/inference.h"

namespace ferry::sched {

struct DurationStat {
  std::uint64_t count = 0;
  std::uint64_t ns = 0;
  void Add(std::chrono::nanoseconds d) {
    ++count;
    ns += static_cast<std::uint64_t>(d.count());
  }
};

// A histogram with fixed upper bounds (the last bucket is +Inf). Plain value type.
struct Histogram {
  std::span<const double> bounds;     // ascending upper bounds, without +Inf
  std::vector<std::uint64_t> counts;  // per bucket (not cumulative); bounds.size() + 1 of them
  double sum = 0;
  std::uint64_t count = 0;

  explicit Histogram(std::span<const double> b = {}) : bounds(b), counts(b.size() + 1, 0) {}
  void Observe(double value) {
    std::size_t i = 0;
    while (i < bounds.size() && value > bounds[i]) ++i;
    ++counts[i];
    sum += value;
    ++count;
  }
};

// Bucket bounds for durations, in seconds (microsecond resolution at the low end).
inline constexpr double kDurationBounds[] = {25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3,
                                             10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10};
// Bucket bounds for batch sizes, in rows.
inline constexpr double kBatchBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

struct BatchStat {
  std::uint64_t batch_size = 0;
  DurationStat compute_input, compute_infer, compute_output;
};

struct StatisticsSnapshot {
  std::int64_t last_inference_ms = 0;  // ms since the Unix epoch; 0 before the first inference
  std::uint64_t inference_count = 0;   // rows inferred (a batch of 64 rows adds 64)
  std::uint64_t execution_count = 0;   // model executions
  DurationStat success, fail, queue, compute_input, compute_infer, compute_output;
  std::vector<BatchStat> batch_stats;  // ascending batch size
  // Explanation requests (POST .../explain), a kind of their own: KernelSHAP's evaluations are
  // not requests above, though their rows count in inference_count and the executions.
  DurationStat explain_success, explain_fail;
  std::uint64_t explain_rows = 0;  // rows explained
  // For Prometheus: successful requests' time from queueing to answer, their time in the queue,
  // each execution's compute time (seconds), and each execution's rows.
  Histogram request_duration{kDurationBounds};
  Histogram queue_duration{kDurationBounds};
  Histogram compute_duration{kDurationBounds};
  Histogram batch_size{kBatchBounds};
};

class Statistics {
 public:
  // One execution of `rows` rows (one or several requests) that took `times` in the backend.
  void RecordExecution(std::uint64_t rows, const core::ComputeTimes& times);
  // One request answered successfully: its time in the queue, in the backend, and in all.
  void RecordSuccess(std::chrono::nanoseconds queue, const core::ComputeTimes& times, std::chrono::nanoseconds total);
  // One request that failed after it was queued.
  void RecordFailure(std::chrono::nanoseconds total);
  // One call of a servable without a queue of its own (a pipeline, a router) that took `total`:
  // on success one execution of `rows` rows, all of it counted as compute time.
  void RecordCall(std::chrono::nanoseconds total, std::uint64_t rows, bool ok);
  // One explanation request of `rows` rows that took `total`.
  void RecordExplanation(std::chrono::nanoseconds total, std::uint64_t rows, bool ok);

  StatisticsSnapshot Snapshot() const;

 private:
  mutable std::mutex mutex_;
  // Protected by mutex_.
  StatisticsSnapshot data_;
  std::map<std::uint64_t, BatchStat> batches_;
};

}  // namespace ferry::sched
