// Live figures (GET /v2/figures, what the dashboard draws): for each serving model version, what
// happened over the last second or so -- requests/s, errors/s, rows/s, p50/p99 request latency,
// mean batch size -- and its queue depth now. ferry computes them from its own statistics
// (the counters and histograms behind /stats and /metrics), by the difference between two
// samples taken at least a second apart, so a page reads a handful of numbers a second instead
// of scraping and differencing /metrics itself.
//
// Sampling is driven by the readers: a request samples again when the last sample is at least
// kMinInterval old, else it answers the figures already computed. Any number of pages polling
// once a second share the samples; nobody polling costs nothing (no thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/server.h"
#include "scheduler/statistics.h"

namespace ferry::runtime {

struct ModelFigures {
  std::string name;
  std::int64_t version = 0;
  // Over the window (zero when the window is empty):
  double requests_per_s = 0;  // answered, successfully or not
  double errors_per_s = 0;
  double rows_per_s = 0;      // rows inferred (a batch of 8 rows counts 8)
  std::optional<double> p50_ms, p99_ms;  // successful requests, queueing to answer; none: no request
  std::optional<double> batch_size;      // mean rows per execution; none: no execution
  // Now:
  std::size_t queue_depth = 0;
  std::uint64_t requests_total = 0;  // since the version loaded
  std::uint64_t errors_total = 0;
};

struct FiguresReport {
  double interval_s = 0;      // the window; 0 on the first sample (rates not known yet)
  std::int64_t time_ms = 0;   // when the window ended, ms since the Unix epoch
  std::vector<ModelFigures> models;  // by name, then version
};

// Quantile q (0..1) of the observations `after` gained since `before` (same bounds), interpolated
// linearly within its bucket as Prometheus's histogram_quantile does (the +Inf bucket answers its
// lower bound); nullopt when there were none.
std::optional<double> QuantileBetween(const sched::Histogram& before, const sched::Histogram& after, double q);

// The figures of the versions in `after`, over the `seconds` since `before`. A version not in
// `before`, or whose counters went back (reloaded), counts from zero.
std::vector<ModelFigures> FiguresBetween(const std::vector<VersionStatistics>& before,
                                         const std::vector<VersionStatistics>& after, double seconds);

class LiveFigures {
 public:
  static constexpr std::chrono::milliseconds kMinInterval{750};
  using Sampler = std::function<std::vector<VersionStatistics>()>;

  // The latest figures, sampling with `sample` first when the last sample is kMinInterval old.
  // Thread-safe.
  FiguresReport Report(const Sampler& sample, std::chrono::steady_clock::time_point now,
                       std::chrono::system_clock::time_point wall_now);

 private:
  std::mutex mutex_;
  // Protected by mutex_.
  std::optional<std::chrono::steady_clock::time_point> sampled_at_;
  std::vector<VersionStatistics> last_;
  FiguresReport report_;
};

}  // namespace ferry::runtime
