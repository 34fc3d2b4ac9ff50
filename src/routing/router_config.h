// RouterConfig: what model.yaml's `router:` says (docs/routing.md). A router is a model folder
// without model files; its model.yaml has:
//
//   router:
//     routes:                                   # a weighted split (canary, A/B, blue/green)
//       - {name: stable, target: "pima:1", weight: 95}
//       - {name: canary, target: "pima:2", weight: 5}
//     sticky: {key: "header:x-user-id"}         # | parameter:NAME | field:NAME | kafka_key
//     override: true                            # a `ferry-route: NAME` header forces a route
//     fallback: {on: [unavailable, timeout, queue_full], to: stable}
//     shadow: [{target: pima-next, percent: 10, max_inflight: 16, compare: {output: probability, abs_tol: 0.01}}]
//     bandit: {policy: thompson, epsilon: 0.1, prior: {alpha: 1, beta: 1}, min_pulls: 10, state_file: ...}
//
// or, instead of routes, an ensemble:
//
//   router:
//     ensemble:
//       members: [{target: a, weight: 2}, {target: b}, {target: c}]
//       aggregate: {output: label, method: majority}   # | soft_vote | mean | median | weighted_mean
//       quorum: 2
//       member_timeout_ms: 200
//
// Parsing checks everything that needs no other model (names, weights, ranges); what needs the
// targets (that they exist, their signatures, cycles) is checked when the router is built.
// Plain value types; the parser is a pure function (fuzzed).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ferry::routing {

// A route's target: a model, pipeline or router, at a version (0: its latest ready one).
struct Target {
  std::string model;
  std::int64_t version = 0;
  std::string ToString() const;  // "pima" or "pima:2"
  bool operator==(const Target&) const = default;
};
// "pima" or "pima:2".
core::Result<Target> ParseTarget(std::string_view text);

struct RouteConfig {
  std::string name;  // default: the target as written
  Target target;
  double weight = 1;
  bool operator==(const RouteConfig&) const = default;
};

// Failures a fallback catches: the target cannot serve (unknown, unloaded, UNAVAILABLE), its
// queue is full, or the request waited past its timeout.
enum class FailureClass : std::uint8_t { kUnavailable, kQueueFull, kTimeout };
std::string_view FailureClassName(FailureClass failure);

struct StickyConfig {
  enum class Kind : std::uint8_t { kHeader, kParameter, kField, kKafkaKey };
  Kind kind = Kind::kHeader;
  std::string name;  // the header (lower case), request parameter or record field
};

struct FallbackConfig {
  std::vector<FailureClass> on;
  std::string to;  // a route's name
};

struct CompareConfig {
  std::string output;  // an output (or a record answer's field) both answers have
  double abs_tol = 0;  // |primary - shadow| <= abs_tol counts as agreement
};

struct ShadowConfig {
  std::string name;  // default: the target as written
  Target target;
  double percent = 100;  // of requests copied to it
  int max_inflight = 16;  // copies in flight at once; beyond it a copy is dropped (counted)
  std::optional<CompareConfig> compare;
};

enum class BanditPolicy : std::uint8_t { kEpsilonGreedy, kThompson, kUcb1 };
std::string_view BanditPolicyName(BanditPolicy policy);

struct BanditConfig {
  BanditPolicy policy = BanditPolicy::kThompson;
  double epsilon = 0.1;                      // epsilon_greedy: share of explored decisions
  double prior_alpha = 1, prior_beta = 1;    // Beta prior of each arm's reward
  std::int64_t min_pulls = 0;                // rows each arm gets before the policy chooses
  std::string state_file;                    // empty: state lives in memory only
  std::chrono::milliseconds save_every{10000};
  std::chrono::milliseconds feedback_ttl{3600 * 1000};  // decisions older than this are expired
  std::size_t max_decisions = 100000;        // decisions kept for feedback; older ones expire first
  std::optional<std::uint64_t> seed;         // for reproducible tests; default: random
};

enum class AggregateMethod : std::uint8_t { kMajority, kSoftVote, kMean, kMedian, kWeightedMean };
std::string_view AggregateMethodName(AggregateMethod method);

struct MemberConfig {
  std::string name;  // default: the target as written
  Target target;
  double weight = 1;
  bool operator==(const MemberConfig&) const = default;
};

struct EnsembleConfig {
  std::vector<MemberConfig> members;
  std::string output;           // the output (or record field) aggregated
  AggregateMethod method = AggregateMethod::kMean;
  std::string label_output = "label";  // soft_vote: the winning class's output name
  int quorum = 0;               // members that must answer; default: a majority
  std::chrono::milliseconds member_timeout{0};  // 0: wait for every member
};

struct RouterConfig {
  std::vector<RouteConfig> routes;
  std::optional<StickyConfig> sticky;
  std::string override_header;  // empty: clients cannot force a route
  std::optional<FallbackConfig> fallback;
  std::vector<ShadowConfig> shadows;
  std::optional<BanditConfig> bandit;
  std::optional<EnsembleConfig> ensemble;
};

// The models a router calls: its members, routes and shadows, in that order.
std::vector<std::string> TargetNames(const RouterConfig& config);

// Parses the `router:` key of a whole model.yaml; `source` names it in errors (with the line).
core::Result<RouterConfig> ParseRouterConfig(std::string_view model_yaml, std::string_view source);

}  // namespace ferry::routing
