#include "runtime/live_figures.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace ferry::runtime {

std::optional<double> QuantileBetween(const sched::Histogram& before, const sched::Histogram& after, double q) {
  const bool comparable = before.counts.size() == after.counts.size() && after.count >= before.count;
  const auto gained = [&](std::size_t i) { return after.counts[i] - (comparable ? before.counts[i] : 0); };
  const std::uint64_t total = after.count - (comparable ? before.count : 0);
  if (total == 0 || after.counts.empty()) return std::nullopt;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < after.counts.size(); ++i) {
    const auto in_bucket = static_cast<double>(gained(i));
    const double lower = i == 0 ? 0.0 : after.bounds[i - 1];
    if (i == after.bounds.size()) return lower;  // +Inf: its lower bound is all that is known
    if (in_bucket > 0 && seen + in_bucket >= rank) {
      return lower + (after.bounds[i] - lower) * std::max(0.0, rank - seen) / in_bucket;
    }
    seen += in_bucket;
  }
  return after.bounds.empty() ? std::nullopt : std::optional<double>(after.bounds.back());
}

std::vector<ModelFigures> FiguresBetween(const std::vector<VersionStatistics>& before,
                                         const std::vector<VersionStatistics>& after, double seconds) {
  std::map<std::pair<std::string_view, std::int64_t>, const VersionStatistics*> earlier;
  for (const auto& v : before) earlier[{v.name, v.version}] = &v;
  static const sched::StatisticsSnapshot kZero;
  std::vector<ModelFigures> out;
  out.reserve(after.size());
  for (const auto& v : after) {
    const auto& now = v.stats;
    const sched::StatisticsSnapshot* then = &kZero;
    if (auto it = earlier.find({v.name, v.version}); it != earlier.end()) then = &it->second->stats;
    if (now.success.count < then->success.count || now.fail.count < then->fail.count ||
        now.execution_count < then->execution_count) {
      then = &kZero;  // reloaded: its counters began again
    }
    ModelFigures f{.name = v.name, .version = v.version, .queue_depth = v.queue_depth,
                   .requests_total = now.success.count + now.fail.count, .errors_total = now.fail.count};
    if (seconds > 0) {
      const auto per_s = [&](std::uint64_t a, std::uint64_t b) { return static_cast<double>(a - b) / seconds; };
      f.requests_per_s = per_s(now.success.count + now.fail.count, then->success.count + then->fail.count);
      f.errors_per_s = per_s(now.fail.count, then->fail.count);
      f.rows_per_s = per_s(now.inference_count, then->inference_count);
      const auto ms = [](std::optional<double> s) { return s ? std::optional<double>(*s * 1e3) : std::nullopt; };
      f.p50_ms = ms(QuantileBetween(then->request_duration, now.request_duration, 0.5));
      f.p99_ms = ms(QuantileBetween(then->request_duration, now.request_duration, 0.99));
      if (const auto executions = now.execution_count - then->execution_count; executions > 0) {
        f.batch_size = static_cast<double>(now.inference_count - then->inference_count) / static_cast<double>(executions);
      }
    }
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const ModelFigures& a, const ModelFigures& b) { return std::tie(a.name, a.version) < std::tie(b.name, b.version); });
  return out;
}

FiguresReport LiveFigures::Report(const Sampler& sample, std::chrono::steady_clock::time_point now,
                                  std::chrono::system_clock::time_point wall_now) {
  std::lock_guard lock(mutex_);
  if (sampled_at_ && now - *sampled_at_ < kMinInterval) return report_;
  std::vector<VersionStatistics> current = sample();
  const double seconds = sampled_at_ ? std::chrono::duration<double>(now - *sampled_at_).count() : 0.0;
  report_ = {.interval_s = seconds,
             .time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall_now.time_since_epoch()).count(),
             .models = FiguresBetween(last_, current, seconds)};
  last_ = std::move(current);
  sampled_at_ = now;
  return report_;
}

}  // namespace ferry::runtime
