// Building a router version from its model.yaml (`router:`, docs/routing.md): parse it, check it
// against what serves now -- every target known and serving, the routes' signatures compatible
// (the same inputs; an ensemble's members all giving the aggregated output), no cycle through
// other routers or pipelines -- and make the Router or the Ensemble. Run on the loader thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "routing/servable.h"
#include "routing/timer.h"

namespace ferry::routing {

// What routers need from the runtime; both must outlive every router built with them.
struct RouterEnvironment {
  const Resolver* resolver = nullptr;
  Timer* timer = nullptr;
};

struct RouterBuild {
  std::string name;
  std::int64_t version = 1;
  std::string_view yaml;    // the whole model.yaml
  std::string_view source;  // names it in errors
  const Servable* previous = nullptr;  // the version it replaces, whose state it may keep
};

// On failure, `missing` (when given) gets the targets that are unknown or not serving, so that
// the caller can build the router again once they serve.
core::Result<std::shared_ptr<Servable>> BuildRouter(const RouterBuild& build, const RouterEnvironment& environment,
                                         std::vector<std::string>* missing = nullptr);

// The first cycle that calling `targets` from `name` leads into, as "a -> b -> a"; nullopt when
// there is none. Follows Resolver::TargetsOf, so routers that do not serve yet count too.
std::optional<std::string> FindCycle(std::string_view name, const std::vector<std::string>& targets,
                                     const Resolver& resolver);

}  // namespace ferry::routing
