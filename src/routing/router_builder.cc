#include "routing/router_builder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <set>

#include "routing/ensemble.h"
#include "routing/router.h"
#include "routing/router_config.h"
#include "routing/signatures.h"

namespace ferry::routing {

std::optional<std::string> FindCycle(std::string_view name, const std::vector<std::string>& targets,
                                     const Resolver& resolver) {
  std::vector<std::string> path{std::string(name)};
  std::set<std::string> done;  // explored without finding `name`
  std::function<bool(const std::vector<std::string>&)> visit = [&](const std::vector<std::string>& next) {
    for (const auto& target : next) {
      if (target == name) {
        path.push_back(target);
        return true;
      }
      if (done.contains(target) || std::find(path.begin(), path.end(), target) != path.end()) continue;
      path.push_back(target);
      if (visit(resolver.TargetsOf(target))) return true;
      path.pop_back();
      done.insert(target);
    }
    return false;
  };
  if (!visit(targets)) return std::nullopt;
  return fmt::format("{}", fmt::join(path, " -> "));
}

core::Result<std::shared_ptr<Servable>> BuildRouter(const RouterBuild& build, const RouterEnvironment& environment,
                                         std::vector<std::string>* missing) {
  FERRY_ASSIGN_OR_RETURN(auto config, ParseRouterConfig(build.yaml, build.source));
  const Resolver& resolver = *environment.resolver;
  // (what, name, target) of every servable the router calls.
  struct Use {
    std::string_view what;
    std::string name;
    Target target;
  };
  std::vector<Use> uses;
  if (config.ensemble) {
    for (const auto& m : config.ensemble->members) uses.push_back({"member", m.name, m.target});
  }
  for (const auto& r : config.routes) uses.push_back({"route", r.name, r.target});
  for (const auto& s : config.shadows) uses.push_back({"shadow", s.name, s.target});

  const std::vector<std::string> targets = TargetNames(config);
  if (std::find(targets.begin(), targets.end(), build.name) != targets.end()) {
    return core::InvalidArgument(fmt::format("router '{}' routes to itself", build.name));
  }
  if (auto cycle = FindCycle(build.name, targets, resolver)) {
    return core::InvalidArgument(fmt::format("router '{}' would call itself: {}", build.name, *cycle));
  }

  std::vector<std::pair<std::string, core::ModelSignature>> signatures;  // routes or members
  std::vector<std::pair<std::string, core::ModelSignature>> with_shadows;
  std::vector<std::string> problems;
  for (const auto& use : uses) {
    auto servable = resolver.Resolve(use.target.model, use.target.version);
    if (!servable) {
      problems.push_back(fmt::format("{} '{}': {}", use.what, use.name, servable.error().message));
      if (missing) missing->push_back(use.target.model);
      continue;
    }
    auto signature = (*servable)->Signature();
    if (use.what != "shadow") signatures.emplace_back(fmt::format("{}", use.name), signature);
    with_shadows.emplace_back(fmt::format("{} '{}'", use.what, use.name), std::move(signature));
  }
  if (!problems.empty()) {
    return core::Unavailable(fmt::format("router '{}' cannot serve: {}", build.name, fmt::join(problems, "; ")));
  }
  auto common = CommonSignature(signatures);
  if (!common) return core::InvalidArgument(fmt::format("router '{}': {}", build.name, common.error().message));
  // Shadows take copies of the same requests: they must take the same inputs.
  for (std::size_t i = signatures.size(); i < with_shadows.size(); ++i) {
    auto fits = CommonSignature({{"the routes", *common}, with_shadows[i]});
    if (!fits) return core::InvalidArgument(fmt::format("router '{}': {}", build.name, fits.error().message));
  }
  if (config.ensemble) {
    const auto& output = config.ensemble->output;
    for (const auto& [member, signature] : signatures) {
      const bool declares = !signature.outputs.empty();
      if (declares && std::none_of(signature.outputs.begin(), signature.outputs.end(),
                                   [&](const auto& spec) { return spec.name == output; })) {
        return core::InvalidArgument(fmt::format("router '{}': member '{}' has no output '{}' to aggregate",
                                                 build.name, member, output));
      }
    }
    return std::make_shared<Ensemble>(Ensemble::Options{
        .name = build.name,
        .version = build.version,
        .config = std::move(*config.ensemble),
        .resolver = &resolver,
        .timer = environment.timer,
        .previous = dynamic_cast<const Ensemble*>(build.previous)});
  }
  return std::make_shared<Router>(Router::Options{.name = build.name,
                                                        .version = build.version,
                                                        .config = std::move(config),
                                                        .resolver = &resolver,
                                                        .timer = environment.timer,
                                                        .previous = dynamic_cast<const Router*>(build.previous)});
}

}  // namespace ferry::routing
