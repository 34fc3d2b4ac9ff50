#include "core/inference.h"

#include <fmt/format.h>

namespace ferry::core {
namespace {

std::string Joined(std::string_view outer, std::string_view inner) {
  if (inner.empty()) return std::string(outer);
  if (outer.empty()) return std::string(inner);
  return fmt::format("{}/{}", outer, inner);
}

}  // namespace

void RouteInfo::Wrap(std::string_view outer_route, std::string_view outer_reason, std::string_view outer_decision) {
  route = Joined(outer_route, route);
  reason = Joined(outer_reason, reason);
  if (decision_id.empty()) decision_id = std::string(outer_decision);
}

}  // namespace ferry::core
