// Which servable answered a call and why (core::RouteInfo), as routers set it and transports
// read it: the helpers below, and the names every transport uses.
#pragma once

#include <string>
#include <string_view>

#include "core/inference.h"

namespace ferry::routing {

using core::RouteInfo;

inline constexpr std::string_view kModelKey = "ferry-model";
inline constexpr std::string_view kModelVersionKey = "ferry-model-version";
inline constexpr std::string_view kRouteKey = "ferry-route";
inline constexpr std::string_view kReasonKey = "ferry-route-reason";
inline constexpr std::string_view kDecisionKey = "ferry-decision-id";
inline constexpr std::string_view kEnsembleKey = "ferry-ensemble";

// A parameter's value as text ("true", "42", "0.5", the string itself).
std::string ParameterText(const core::ParameterValue& value);

// The route of an infer response: the one a router set, or, when none did (a model or pipeline
// answered directly), its own model name and version.
inline RouteInfo RouteOf(const core::InferenceResponse& response) {
  if (!response.route.empty()) return response.route;
  return RouteInfo{.model = response.model_name, .version = response.model_version};
}

}  // namespace ferry::routing
