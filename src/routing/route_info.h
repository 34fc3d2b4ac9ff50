// RouteInfo: which servable answered a call and why, as every transport reports it -- HTTP
// headers, gRPC trailing metadata, Kafka sink headers, and the V2 response `parameters`:
//   ferry-model, ferry-model-version   the model (or pipeline) that computed the answer
//   ferry-route                        the route taken (nested routers: outer/inner)
//   ferry-route-reason                 weighted | sticky | override | fallback | explore | exploit |
//                                      ensemble | only
//   ferry-decision-id                  a bandit's decision, for feedback
//   ferry-ensemble                     the members of an ensemble that took part
// Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/inference.h"

namespace ferry::routing {

inline constexpr std::string_view kModelKey = "ferry-model";
inline constexpr std::string_view kModelVersionKey = "ferry-model-version";
inline constexpr std::string_view kRouteKey = "ferry-route";
inline constexpr std::string_view kReasonKey = "ferry-route-reason";
inline constexpr std::string_view kDecisionKey = "ferry-decision-id";
inline constexpr std::string_view kEnsembleKey = "ferry-ensemble";

struct RouteInfo {
  std::string model;
  std::int64_t version = 0;
  std::string route;
  std::string reason;
  std::string decision_id;
  std::string ensemble;

  // An outer router's decision around this one: route and reason become "outer/inner"; the
  // decision id stays the innermost bandit's unless this one has none.
  void Wrap(std::string_view outer_route, std::string_view outer_reason, std::string_view outer_decision);

  // (key, value) pairs to send, in the order above; empty values are left out.
  std::vector<std::pair<std::string_view, std::string>> Fields() const;
};

// A parameter's value as text ("true", "42", "0.5", the string itself).
std::string ParameterText(const core::ParameterValue& value);

// The route info of an infer response: its `ferry-*` parameters, or, when it has none (a model
// or pipeline answered directly), its own model name and version.
RouteInfo RouteOf(const core::InferenceResponse& response);
// Writes `route` into the response's parameters (routers do, so that every transport sees it).
void SetRoute(const RouteInfo& route, core::InferenceResponse& response);

}  // namespace ferry::routing
