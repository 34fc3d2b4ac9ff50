// RouterMetrics: a router's counters, lock-free on the request path (relaxed atomics), reported
// on /metrics (docs/metrics.md):
//   ferry_router_requests_total{router, route, reason}      decisions, by why they were made
//   ferry_router_route_errors_total{router, route}          calls a route answered with an error
//   ferry_router_route_weight{router, route}                the split's current share
//   ferry_shadow_requests_total{router, shadow, outcome}    sent | dropped | failed
//   ferry_shadow_comparisons_total{router, shadow, result}  agreed | disagreed
//   ferry_shadow_difference                                 |primary - shadow| of compared values
//   ferry_ensemble_member_total{router, member, outcome}    answered | failed | timed_out
//   ferry_ensemble_member_duration_seconds{router, member}  members' answer times
//   ferry_ensemble_quorum_failures_total{router}
//   ferry_bandit_feedback_total{router, outcome}            applied | unknown | expired | duplicate | invalid
//   ferry_bandit_arm_pulls_total, ferry_bandit_arm_rewarded_total, ferry_bandit_arm_mean_reward{router, route}
// A router keeps its counters across reloads that leave its routes as they are.
// Thread safety: Observe / increments from any thread; reading for /metrics at any time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "observe/metric_set.h"

namespace ferry::routing {

// Why a route was taken (ferry-route-reason).
enum class Reason : std::uint8_t { kWeighted, kSticky, kOverride, kFallback, kExplore, kExploit, kCount };
std::string_view ReasonName(Reason reason);

class AtomicHistogram {
 public:
  explicit AtomicHistogram(std::span<const double> bounds);
  void Observe(double value);
  void Collect(observe::MetricSet& set, std::string_view family, std::string_view help,
               observe::MetricSet::Labels labels) const;

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Bounds for absolute differences of compared values.
inline constexpr double kDifferenceBounds[] = {1e-9, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5, 1};

struct RouteCounters {
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Reason::kCount)> requests{};
  std::atomic<std::uint64_t> errors{0};
  std::uint64_t total() const;
};

struct ShadowCounters {
  std::atomic<std::uint64_t> sent{0}, dropped{0}, failed{0}, agreed{0}, disagreed{0};
  std::atomic<int> inflight{0};
  AtomicHistogram difference{kDifferenceBounds};
};

struct MemberCounters {
  std::atomic<std::uint64_t> answered{0}, failed{0}, timed_out{0};
  AtomicHistogram duration;
  MemberCounters();
};

struct RouterCounters {
  RouterCounters(std::size_t routes, std::size_t shadows, std::size_t members)
      : routes(routes), shadows(shadows), members(members) {}
  std::vector<RouteCounters> routes;
  std::vector<ShadowCounters> shadows;
  std::vector<MemberCounters> members;
  std::atomic<std::uint64_t> quorum_failures{0};
  std::array<std::atomic<std::uint64_t>, 5> feedback{};  // by FeedbackResult::Outcome
};

}  // namespace ferry::routing
