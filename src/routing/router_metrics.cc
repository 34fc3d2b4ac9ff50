#include "routing/router_metrics.h"

#include "scheduler/statistics.h"

namespace ferry::routing {

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kWeighted: return "weighted";
    case Reason::kSticky: return "sticky";
    case Reason::kOverride: return "override";
    case Reason::kFallback: return "fallback";
    case Reason::kExplore: return "explore";
    case Reason::kExploit: return "exploit";
    case Reason::kCount: break;
  }
  return "weighted";
}

AtomicHistogram::AtomicHistogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void AtomicHistogram::Observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

void AtomicHistogram::Collect(observe::MetricSet& set, std::string_view family, std::string_view help,
                              observe::MetricSet::Labels labels) const {
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] = counts_[i].load(std::memory_order_relaxed);
    count += counts[i];
  }
  set.Histogram(family, help, std::move(labels), bounds_, std::move(counts), sum_.load(std::memory_order_relaxed),
                count);
}

std::uint64_t RouteCounters::total() const {
  std::uint64_t sum = 0;
  for (const auto& r : requests) sum += r.load(std::memory_order_relaxed);
  return sum;
}

MemberCounters::MemberCounters() : duration(sched::kDurationBounds) {}

}  // namespace ferry::routing
