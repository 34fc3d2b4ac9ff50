#include "routing/router_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cmath>
#include <set>

#include "core/yaml_reader.h"

namespace ferry::routing {
namespace {

using core::Result;

class Reader : public core::YamlReader {
 public:
  using core::YamlReader::YamlReader;

  Result<double> Number(const YAML::Node& node, std::string_view key, double min, double max) const {
    FERRY_ASSIGN_OR_RETURN(double value, Scalar<double>(node, key, "a number"));
    if (!std::isfinite(value) || value < min || value > max) {
      return Fail(node, fmt::format("'{}' must be a number from {} to {}, got {}", key, min, max, node.Scalar()));
    }
    return value;
  }

  Result<std::int64_t> Integer(const YAML::Node& node, std::string_view key, std::int64_t min, std::int64_t max) const {
    FERRY_ASSIGN_OR_RETURN(std::int64_t value, Scalar<std::int64_t>(node, key, "an integer"));
    if (value < min || value > max) {
      return Fail(node, fmt::format("'{}' must be an integer from {} to {}, got {}", key, min, max, value));
    }
    return value;
  }

  Result<std::chrono::milliseconds> Millis(const YAML::Node& node, std::string_view key, std::int64_t min) const {
    FERRY_ASSIGN_OR_RETURN(auto ms, Integer(node, key, min, std::int64_t{1} << 40));
    return std::chrono::milliseconds(ms);
  }

  Result<Target> TargetOf(const YAML::Node& node, std::string_view key) const {
    FERRY_ASSIGN_OR_RETURN(auto text, Scalar<std::string>(node, key, "a model name, or name:version"));
    auto target = ParseTarget(text);
    if (!target) return Fail(node, target.error().message);
    return target;
  }

  // routes / members: [{name?, target, weight?}, ...]
  template <typename Item>
  Result<std::vector<Item>> Weighted(const YAML::Node& list, std::string_view key) const {
    if (!list.IsSequence() || list.size() == 0) {
      return Fail(list, fmt::format("'{}' must be a list of {{name, target, weight}}", key));
    }
    std::vector<Item> items;
    std::set<std::string> names;
    for (const auto& node : list) {
      if (!node.IsMap()) return Fail(node, fmt::format("each entry of '{}' must be a map {{name, target, weight}}", key));
      FERRY_RETURN_IF_ERROR(OnlyKeys(node, key, {"name", "target", "weight"}));
      if (!node["target"]) return Fail(node, fmt::format("each entry of '{}' needs a 'target' (a model name)", key));
      Item item;
      FERRY_ASSIGN_OR_RETURN(item.target, TargetOf(node["target"], "target"));
      item.name = item.target.ToString();
      if (node["name"]) {
        FERRY_ASSIGN_OR_RETURN(item.name, Scalar<std::string>(node["name"], "name", "a string"));
      }
      if (item.name.empty()) return Fail(node, "a route's name must not be empty");
      if (node["weight"]) {
        FERRY_ASSIGN_OR_RETURN(item.weight, Number(node["weight"], "weight", 0, 1e12));
      }
      if (!names.insert(item.name).second) {
        return Fail(node, fmt::format("two entries of '{}' are named '{}'; give each a distinct 'name'", key, item.name));
      }
      items.push_back(std::move(item));
    }
    return items;
  }

  Result<StickyConfig> Sticky(const YAML::Node& node) const {
    if (!node.IsMap()) return Fail(node, "'sticky' must be a map {key: header:NAME | parameter:NAME | field:NAME | kafka_key}");
    FERRY_RETURN_IF_ERROR(OnlyKeys(node, "sticky", {"key"}));
    FERRY_ASSIGN_OR_RETURN(auto key, Scalar<std::string>(node["key"], "key", "header:NAME, parameter:NAME, field:NAME or kafka_key"));
    StickyConfig sticky;
    if (key == "kafka_key") {
      sticky.kind = StickyConfig::Kind::kKafkaKey;
      return sticky;
    }
    const auto colon = key.find(':');
    const std::string kind = key.substr(0, colon);
    sticky.name = colon == std::string::npos ? std::string() : key.substr(colon + 1);
    if (kind == "header") {
      sticky.kind = StickyConfig::Kind::kHeader;
      for (auto& c : sticky.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (kind == "parameter") {
      sticky.kind = StickyConfig::Kind::kParameter;
    } else if (kind == "field") {
      sticky.kind = StickyConfig::Kind::kField;
    } else {
      return Fail(node["key"], fmt::format("sticky key '{}' must be header:NAME, parameter:NAME, field:NAME or kafka_key", key));
    }
    if (sticky.name.empty()) return Fail(node["key"], fmt::format("sticky key '{}' names nothing after the ':'", key));
    return sticky;
  }

  Result<FallbackConfig> Fallback(const YAML::Node& node) const {
    if (!node.IsMap()) return Fail(node, "'fallback' must be a map {on: [unavailable, timeout, queue_full], to: ROUTE}");
    FERRY_RETURN_IF_ERROR(OnlyKeys(node, "fallback", {"on", "to"}));
    FallbackConfig fallback;
    FERRY_ASSIGN_OR_RETURN(fallback.to, Scalar<std::string>(node["to"], "to", "a route's name"));
    if (!node["on"]) {
      fallback.on = {FailureClass::kUnavailable, FailureClass::kQueueFull, FailureClass::kTimeout};
      return fallback;
    }
    if (!node["on"].IsSequence()) return Fail(node["on"], "'on' must be a list of unavailable, timeout, queue_full");
    for (const auto& item : node["on"]) {
      FERRY_ASSIGN_OR_RETURN(auto name, Scalar<std::string>(item, "on", "unavailable, timeout or queue_full"));
      if (name == "unavailable") {
        fallback.on.push_back(FailureClass::kUnavailable);
      } else if (name == "timeout") {
        fallback.on.push_back(FailureClass::kTimeout);
      } else if (name == "queue_full") {
        fallback.on.push_back(FailureClass::kQueueFull);
      } else {
        return Fail(item, fmt::format("fallback on '{}' is unknown (unavailable, timeout, queue_full)", name));
      }
    }
    return fallback;
  }

  Result<std::vector<ShadowConfig>> Shadows(const YAML::Node& node) const {
    if (!node.IsSequence()) return Fail(node, "'shadow' must be a list of {target, percent, max_inflight, compare}");
    std::vector<ShadowConfig> shadows;
    for (const auto& item : node) {
      if (!item.IsMap()) return Fail(item, "each shadow must be a map {target, percent, max_inflight, compare}");
      FERRY_RETURN_IF_ERROR(OnlyKeys(item, "shadow", {"name", "target", "percent", "max_inflight", "compare"}));
      ShadowConfig shadow;
      if (!item["target"]) return Fail(item, "a shadow needs a 'target' (a model name)");
      FERRY_ASSIGN_OR_RETURN(shadow.target, TargetOf(item["target"], "target"));
      shadow.name = shadow.target.ToString();
      if (item["name"]) {
        FERRY_ASSIGN_OR_RETURN(shadow.name, Scalar<std::string>(item["name"], "name", "a string"));
      }
      if (item["percent"]) {
        FERRY_ASSIGN_OR_RETURN(shadow.percent, Number(item["percent"], "percent", 0, 100));
      }
      if (item["max_inflight"]) {
        FERRY_ASSIGN_OR_RETURN(auto n, Integer(item["max_inflight"], "max_inflight", 1, 1 << 20));
        shadow.max_inflight = static_cast<int>(n);
      }
      if (const YAML::Node compare = item["compare"]) {
        if (!compare.IsMap()) return Fail(compare, "'compare' must be a map {output, abs_tol}");
        FERRY_RETURN_IF_ERROR(OnlyKeys(compare, "compare", {"output", "abs_tol"}));
        CompareConfig c;
        FERRY_ASSIGN_OR_RETURN(c.output, Scalar<std::string>(compare["output"], "output", "an output name"));
        if (compare["abs_tol"]) {
          FERRY_ASSIGN_OR_RETURN(c.abs_tol, Number(compare["abs_tol"], "abs_tol", 0, 1e300));
        }
        shadow.compare = std::move(c);
      }
      for (const auto& other : shadows) {
        if (other.name == shadow.name) return Fail(item, fmt::format("two shadows are named '{}'", shadow.name));
      }
      shadows.push_back(std::move(shadow));
    }
    return shadows;
  }

  Result<BanditConfig> Bandit(const YAML::Node& node) const {
    if (!node.IsMap()) return Fail(node, "'bandit' must be a map {policy, epsilon, prior, min_pulls, state_file}");
    FERRY_RETURN_IF_ERROR(OnlyKeys(node, "bandit",
                                   {"policy", "epsilon", "prior", "min_pulls", "state_file", "save_every_s",
                                    "feedback_ttl_s", "max_decisions", "seed"}));
    BanditConfig bandit;
    if (node["policy"]) {
      FERRY_ASSIGN_OR_RETURN(auto policy, Scalar<std::string>(node["policy"], "policy", "epsilon_greedy, thompson or ucb1"));
      if (policy == "epsilon_greedy") {
        bandit.policy = BanditPolicy::kEpsilonGreedy;
      } else if (policy == "thompson") {
        bandit.policy = BanditPolicy::kThompson;
      } else if (policy == "ucb1") {
        bandit.policy = BanditPolicy::kUcb1;
      } else {
        return Fail(node["policy"], fmt::format("bandit policy '{}' is unknown (epsilon_greedy, thompson, ucb1)", policy));
      }
    }
    if (node["epsilon"]) {
      FERRY_ASSIGN_OR_RETURN(bandit.epsilon, Number(node["epsilon"], "epsilon", 0, 1));
    }
    if (const YAML::Node prior = node["prior"]) {
      if (!prior.IsMap()) return Fail(prior, "'prior' must be a map {alpha, beta}");
      FERRY_RETURN_IF_ERROR(OnlyKeys(prior, "prior", {"alpha", "beta"}));
      if (prior["alpha"]) {
        FERRY_ASSIGN_OR_RETURN(bandit.prior_alpha, Number(prior["alpha"], "alpha", 1e-6, 1e9));
      }
      if (prior["beta"]) {
        FERRY_ASSIGN_OR_RETURN(bandit.prior_beta, Number(prior["beta"], "beta", 1e-6, 1e9));
      }
    }
    if (node["min_pulls"]) {
      FERRY_ASSIGN_OR_RETURN(bandit.min_pulls, Integer(node["min_pulls"], "min_pulls", 0, 1 << 30));
    }
    if (node["state_file"]) {
      FERRY_ASSIGN_OR_RETURN(bandit.state_file, Scalar<std::string>(node["state_file"], "state_file", "a file path"));
    }
    if (node["save_every_s"]) {
      FERRY_ASSIGN_OR_RETURN(double s, Number(node["save_every_s"], "save_every_s", 0.01, 86400));
      bandit.save_every = std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
    }
    if (node["feedback_ttl_s"]) {
      FERRY_ASSIGN_OR_RETURN(double s, Number(node["feedback_ttl_s"], "feedback_ttl_s", 0.001, 30 * 86400));
      bandit.feedback_ttl = std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
    }
    if (node["max_decisions"]) {
      FERRY_ASSIGN_OR_RETURN(auto n, Integer(node["max_decisions"], "max_decisions", 1, 100000000));
      bandit.max_decisions = static_cast<std::size_t>(n);
    }
    if (node["seed"]) {
      FERRY_ASSIGN_OR_RETURN(auto seed, Integer(node["seed"], "seed", 0, INT64_MAX));
      bandit.seed = static_cast<std::uint64_t>(seed);
    }
    return bandit;
  }

  Result<EnsembleConfig> Ensemble(const YAML::Node& node) const {
    if (!node.IsMap()) return Fail(node, "'ensemble' must be a map {members, aggregate, quorum, member_timeout_ms}");
    FERRY_RETURN_IF_ERROR(OnlyKeys(node, "ensemble", {"members", "aggregate", "quorum", "member_timeout_ms"}));
    EnsembleConfig ensemble;
    if (!node["members"]) return Fail(node, "an ensemble needs 'members' (a list of {target, weight})");
    FERRY_ASSIGN_OR_RETURN(ensemble.members, Weighted<MemberConfig>(node["members"], "members"));
    const YAML::Node aggregate = node["aggregate"];
    if (!aggregate || !aggregate.IsMap()) {
      return Fail(aggregate ? aggregate : node, "an ensemble needs 'aggregate': {output, method}");
    }
    FERRY_RETURN_IF_ERROR(OnlyKeys(aggregate, "aggregate", {"output", "method", "label"}));
    FERRY_ASSIGN_OR_RETURN(ensemble.output, Scalar<std::string>(aggregate["output"], "output", "an output name"));
    FERRY_ASSIGN_OR_RETURN(auto method, Scalar<std::string>(aggregate["method"], "method",
                                                            "majority, soft_vote, mean, median or weighted_mean"));
    if (method == "majority") {
      ensemble.method = AggregateMethod::kMajority;
    } else if (method == "soft_vote") {
      ensemble.method = AggregateMethod::kSoftVote;
    } else if (method == "mean") {
      ensemble.method = AggregateMethod::kMean;
    } else if (method == "median") {
      ensemble.method = AggregateMethod::kMedian;
    } else if (method == "weighted_mean") {
      ensemble.method = AggregateMethod::kWeightedMean;
    } else {
      return Fail(aggregate["method"], fmt::format("aggregate method '{}' is unknown (majority, soft_vote, mean, "
                                                   "median, weighted_mean)",
                                                   method));
    }
    if (aggregate["label"]) {
      FERRY_ASSIGN_OR_RETURN(ensemble.label_output, Scalar<std::string>(aggregate["label"], "label", "an output name"));
    }
    const auto members = static_cast<std::int64_t>(ensemble.members.size());
    ensemble.quorum = static_cast<int>(members / 2 + 1);
    if (node["quorum"]) {
      FERRY_ASSIGN_OR_RETURN(auto quorum, Integer(node["quorum"], "quorum", 1, members));
      ensemble.quorum = static_cast<int>(quorum);
    }
    if (node["member_timeout_ms"]) {
      FERRY_ASSIGN_OR_RETURN(ensemble.member_timeout, Millis(node["member_timeout_ms"], "member_timeout_ms", 0));
    }
    double total = 0;
    for (const auto& m : ensemble.members) total += m.weight;
    if (total <= 0) return Fail(node["members"], "the members' weights add up to 0; give at least one a weight > 0");
    return ensemble;
  }
};

}  // namespace

std::string Target::ToString() const { return version > 0 ? fmt::format("{}:{}", model, version) : model; }

core::Result<Target> ParseTarget(std::string_view text) {
  Target target{.model = std::string(text)};
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    const std::string_view number = text.substr(colon + 1);
    std::int64_t version = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), version);
    if (ec != std::errc() || end != number.data() + number.size() || version < 1) {
      return core::InvalidArgument(fmt::format("target '{}': the version after ':' must be a positive integer", text));
    }
    target.model = std::string(text.substr(0, colon));
    target.version = version;
  }
  if (target.model.empty()) return core::InvalidArgument(fmt::format("target '{}' names no model", text));
  return target;
}

std::string_view FailureClassName(FailureClass failure) {
  switch (failure) {
    case FailureClass::kUnavailable: return "unavailable";
    case FailureClass::kQueueFull: return "queue_full";
    case FailureClass::kTimeout: return "timeout";
  }
  return "unavailable";
}

std::string_view BanditPolicyName(BanditPolicy policy) {
  switch (policy) {
    case BanditPolicy::kEpsilonGreedy: return "epsilon_greedy";
    case BanditPolicy::kThompson: return "thompson";
    case BanditPolicy::kUcb1: return "ucb1";
  }
  return "thompson";
}

std::string_view AggregateMethodName(AggregateMethod method) {
  switch (method) {
    case AggregateMethod::kMajority: return "majority";
    case AggregateMethod::kSoftVote: return "soft_vote";
    case AggregateMethod::kMean: return "mean";
    case AggregateMethod::kMedian: return "median";
    case AggregateMethod::kWeightedMean: return "weighted_mean";
  }
  return "mean";
}

std::vector<std::string> TargetNames(const RouterConfig& config) {
  std::vector<std::string> targets;
  if (config.ensemble) {
    for (const auto& m : config.ensemble->members) targets.push_back(m.target.model);
  }
  for (const auto& r : config.routes) targets.push_back(r.target.model);
  for (const auto& s : config.shadows) targets.push_back(s.target.model);
  return targets;
}

core::Result<RouterConfig> ParseRouterConfig(std::string_view model_yaml, std::string_view source) {
  const Reader r(source);
  FERRY_ASSIGN_OR_RETURN(const YAML::Node root, r.Load(model_yaml));
  const YAML::Node node = root.IsMap() ? root["router"] : YAML::Node();
  if (!node || !node.IsMap()) return r.Fail(node ? node : root, "'router' must be a map ({routes: [...]} or {ensemble: ...})");
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(node, "router",
                                   {"routes", "sticky", "override", "fallback", "shadow", "bandit", "ensemble"}));
  RouterConfig config;
  if (node["ensemble"]) {
    for (const char* key : {"routes", "sticky", "override", "fallback", "bandit"}) {
      if (node[key]) {
        return r.Fail(node[key], fmt::format("'{}' belongs to a router with routes; an ensemble has members", key));
      }
    }
    FERRY_ASSIGN_OR_RETURN(config.ensemble, r.Ensemble(node["ensemble"]));
  } else {
    if (!node["routes"]) return r.Fail(node, "a router needs 'routes' (a list of {name, target, weight}) or 'ensemble'");
    FERRY_ASSIGN_OR_RETURN(config.routes, r.Weighted<RouteConfig>(node["routes"], "routes"));
  }
  if (node["bandit"]) {
    if (node["sticky"]) return r.Fail(node["sticky"], "a bandit chooses each route itself: 'sticky' cannot be used with it");
    FERRY_ASSIGN_OR_RETURN(config.bandit, r.Bandit(node["bandit"]));
  } else if (!config.routes.empty()) {
    double total = 0;
    for (const auto& route : config.routes) total += route.weight;
    if (total <= 0) {
      return r.Fail(node["routes"], "the routes' weights add up to 0; give at least one route a weight > 0");
    }
  }
  if (node["sticky"]) {
    FERRY_ASSIGN_OR_RETURN(config.sticky, r.Sticky(node["sticky"]));
  }
  if (const YAML::Node o = node["override"]) {
    if (o.IsMap()) {
      FERRY_RETURN_IF_ERROR(r.OnlyKeys(o, "override", {"header"}));
      FERRY_ASSIGN_OR_RETURN(config.override_header, r.Scalar<std::string>(o["header"], "header", "a header name"));
      for (auto& c : config.override_header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      FERRY_ASSIGN_OR_RETURN(bool on, r.Scalar<bool>(o, "override", "true, false or {header: NAME}"));
      if (on) config.override_header = "ferry-route";
    }
  }
  if (node["fallback"]) {
    FERRY_ASSIGN_OR_RETURN(config.fallback, r.Fallback(node["fallback"]));
    const auto& to = config.fallback->to;
    if (std::none_of(config.routes.begin(), config.routes.end(), [&](const auto& route) { return route.name == to; })) {
      std::vector<std::string> names;
      for (const auto& route : config.routes) names.push_back(route.name);
      return r.Fail(node["fallback"]["to"], fmt::format("fallback to '{}': no route has that name (routes: {})", to,
                                                        fmt::join(names, ", ")));
    }
  }
  if (node["shadow"]) {
    FERRY_ASSIGN_OR_RETURN(config.shadows, r.Shadows(node["shadow"]));
  }
  return config;
}

}  // namespace ferry::routing
