#include "cli/load_recorder.h"

#include <algorithm>

namespace ferry::cli {

Recorder::Recorder(LoadClock::time_point start, LoadClock::time_point end) : start_(start), end_(end) {
  latencies_.reserve(1 << 20);
}

bool Recorder::Record(LoadClock::time_point sent, LoadClock::time_point answered, bool ok, std::string_view error) {
  if (answered >= start_ && answered <= end_) {
    if (ok) {
      latencies_.push_back(std::chrono::duration<double, std::milli>(answered - sent).count());
    } else {
      ++errors_;
      if (first_error_.empty()) first_error_ = std::string(error);
    }
  }
  return answered < end_;
}

LoadResult Recorder::Finish(int concurrency) {
  LoadResult r;
  r.concurrency = concurrency;
  r.seconds = std::chrono::duration<double>(end_ - start_).count();
  r.requests = latencies_.size();
  r.errors = errors_;
  r.first_error = first_error_;
  r.throughput = r.requests / r.seconds;
  std::sort(latencies_.begin(), latencies_.end());
  auto at = [&](double q) {
    return latencies_.empty()
               ? 0.0
               : latencies_[std::min(latencies_.size() - 1, static_cast<std::size_t>(q * latencies_.size()))];
  };
  r.p50_ms = at(0.50);
  r.p90_ms = at(0.90);
  r.p95_ms = at(0.95);
  r.p99_ms = at(0.99);
  return r;
}

LoadClock::duration Interval(double rate) {
  return rate > 0 ? std::chrono::duration_cast<LoadClock::duration>(std::chrono::duration<double>(1.0 / rate))
                  : LoadClock::duration(0);
}

}  // namespace ferry::cli
