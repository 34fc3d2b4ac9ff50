// The JSON of a router's control routes (docs/routing.md). Pure functions (fuzzed):
//   GET  /v2/models/{r}/routing   {"name", "kind", "policy"?, "routes": [{"name", "target", "weight", "ready",
//                                  "requests", "errors", bandits: "pulls", "rewarded", "mean_reward", "alpha",
//                                  "beta", "probability_best"}], "shadows": [...]}
//   PUT  /v2/models/{r}/routing   {"weights": {"stable": 50, "canary": 50}}
//   POST /v2/models/{r}/feedback  {"decision_id": "...", "reward": 1}, {"decision_id": "...", "rewards": [1, 0]},
//                                 or a list of them; answers {"decision_id", "outcome", "route"?, "rows"?,
//                                 "detail"?} (a list for a list), outcome applied | unknown | expired |
//                                 duplicate | invalid
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/limits.h"
#include "routing/servable.h"

namespace ferry::protocol {

std::string EncodeRouting(std::string_view name, const routing::RoutingState& state);

core::Result<std::vector<std::pair<std::string, double>>> DecodeWeights(std::string_view json,
                                                                        const core::RequestLimits& limits = {});

struct FeedbackRequest {
  std::vector<routing::Feedback> feedback;
  bool list = false;  // sent as a list: answered with a list
};
core::Result<FeedbackRequest> DecodeFeedback(std::string_view json, const core::RequestLimits& limits = {});
std::string EncodeFeedbackResults(const std::vector<routing::FeedbackResult>& results, bool list);

}  // namespace ferry::protocol
