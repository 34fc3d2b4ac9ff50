#include "routing/route_info.h"

#include <fmt/format.h>

#include <variant>

namespace ferry::routing {
namespace {

std::string Joined(std::string_view outer, std::string_view inner) {
  if (inner.empty()) return std::string(outer);
  if (outer.empty()) return std::string(inner);
  return fmt::format("{}/{}", outer, inner);
}

}  // namespace

std::string ParameterText(const core::ParameterValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          return fmt::format("{}", v);
        }
      },
      value);
}

void RouteInfo::Wrap(std::string_view outer_route, std::string_view outer_reason, std::string_view outer_decision) {
  route = Joined(outer_route, route);
  reason = Joined(outer_reason, reason);
  if (decision_id.empty()) decision_id = std::string(outer_decision);
}

std::vector<std::pair<std::string_view, std::string>> RouteInfo::Fields() const {
  std::vector<std::pair<std::string_view, std::string>> fields;
  if (!model.empty()) fields.emplace_back(kModelKey, model);
  if (version > 0) fields.emplace_back(kModelVersionKey, std::to_string(version));
  if (!route.empty()) fields.emplace_back(kRouteKey, route);
  if (!reason.empty()) fields.emplace_back(kReasonKey, reason);
  if (!decision_id.empty()) fields.emplace_back(kDecisionKey, decision_id);
  if (!ensemble.empty()) fields.emplace_back(kEnsembleKey, ensemble);
  return fields;
}

RouteInfo RouteOf(const core::InferenceResponse& response) {
  RouteInfo route;
  const auto& p = response.parameters;
  auto text = [&](std::string_view key) {
    auto it = p.find(key);
    return it == p.end() ? std::string() : ParameterText(it->second);
  };
  route.model = text(kModelKey);
  if (route.model.empty()) {
    route.model = response.model_name;
    route.version = response.model_version;
    return route;
  }
  if (auto it = p.find(kModelVersionKey); it != p.end()) {
    if (const auto* v = std::get_if<std::int64_t>(&it->second)) route.version = *v;
  }
  route.route = text(kRouteKey);
  route.reason = text(kReasonKey);
  route.decision_id = text(kDecisionKey);
  route.ensemble = text(kEnsembleKey);
  return route;
}

void SetRoute(const RouteInfo& route, core::InferenceResponse& response) {
  auto& p = response.parameters;
  auto set = [&](std::string_view key, const std::string& value) {
    if (value.empty()) {
      p.erase(std::string(key));
    } else {
      p.insert_or_assign(std::string(key), value);
    }
  };
  set(kModelKey, route.model);
  if (route.version > 0) {
    p.insert_or_assign(std::string(kModelVersionKey), route.version);
  } else {
    p.erase(std::string(kModelVersionKey));
  }
  set(kRouteKey, route.route);
  set(kReasonKey, route.reason);
  set(kDecisionKey, route.decision_id);
  set(kEnsembleKey, route.ensemble);
}

}  // namespace ferry::routing
