#include "protocol/routing_json.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>

#include "core/json_writer.h"
#include "protocol/request_json.h"

namespace ferry::protocol {
namespace {

using core::JsonWriter;
using simdjson::dom::element;

core::Result<routing::Feedback> OneFeedback(element item, std::string_view where) {
  simdjson::dom::object object;
  if (item.get_object().get(object)) {
    return core::InvalidArgument(fmt::format("{} must be an object {{\"decision_id\": ..., \"reward\": x}}", where));
  }
  routing::Feedback feedback;
  bool has_id = false;
  for (auto field : object) {
    if (field.key == "decision_id") {
      std::string_view id;
      if (field.value.get_string().get(id) || id.empty()) {
        return core::InvalidArgument(fmt::format("{}: 'decision_id' must be a non-empty string (the answer's "
                                                 "ferry-decision-id)",
                                                 where));
      }
      feedback.decision_id = std::string(id);
      has_id = true;
    } else if (field.key == "reward") {
      double reward = 0;
      if (field.value.get_double().get(reward) || !std::isfinite(reward)) {
        return core::InvalidArgument(fmt::format("{}: 'reward' must be a number", where));
      }
      feedback.reward = reward;
    } else if (field.key == "rewards") {
      simdjson::dom::array rewards;
      if (field.value.get_array().get(rewards)) {
        return core::InvalidArgument(fmt::format("{}: 'rewards' must be a list of numbers, one a row", where));
      }
      for (element r : rewards) {
        double reward = 0;
        if (r.get_double().get(reward) || !std::isfinite(reward)) {
          return core::InvalidArgument(fmt::format("{}: 'rewards' must be a list of numbers, one a row", where));
        }
        feedback.rewards.push_back(reward);
      }
    } else {
      return core::InvalidArgument(fmt::format("{}: unknown key '{}' (known: decision_id, reward, rewards)", where,
                                               std::string_view(field.key)));
    }
  }
  if (!has_id) return core::InvalidArgument(fmt::format("{} needs a 'decision_id'", where));
  if (feedback.reward.has_value() == !feedback.rewards.empty()) {  // both, or neither
    return core::InvalidArgument(fmt::format("{} needs either 'reward' (for every row) or 'rewards' (one a row)", where));
  }
  return feedback;
}

void WriteResult(const routing::FeedbackResult& r, JsonWriter& w) {
  w.BeginObject();
  w.Key("decision_id");
  w.String(r.decision_id);
  w.Key("outcome");
  w.String(routing::FeedbackOutcomeName(r.outcome));
  if (!r.route.empty()) {
    w.Key("route");
    w.String(r.route);
  }
  if (r.outcome == routing::FeedbackResult::Outcome::kApplied) {
    w.Key("rows");
    w.Number(static_cast<std::uint64_t>(r.rows));
  }
  if (!r.detail.empty()) {
    w.Key("detail");
    w.String(r.detail);
  }
  w.EndObject();
}

}  // namespace

std::string EncodeRouting(std::string_view name, const routing::RoutingState& state) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("name");
  w.String(name);
  w.Key("kind");
  w.String(state.kind);
  if (!state.policy.empty()) {
    w.Key(state.kind == "ensemble" ? "aggregate" : "policy");
    w.String(state.policy);
  }
  w.Key("routes");
  w.BeginArray();
  for (const auto& r : state.routes) {
    w.BeginObject();
    w.Key("name");
    w.String(r.name);
    w.Key("target");
    w.String(r.target);
    w.Key("weight");
    w.Number(r.weight);
    w.Key("ready");
    w.Bool(r.ready);
    w.Key("requests");
    w.Number(r.requests);
    w.Key("errors");
    w.Number(r.errors);
    if (state.kind == "bandit") {
      w.Key("pulls");
      w.Number(r.pulls);
      w.Key("rewarded");
      w.Number(r.rewarded);
      w.Key("mean_reward");
      w.Number(r.mean_reward);
      w.Key("posterior");
      w.BeginObject();
      w.Key("alpha");
      w.Number(r.alpha);
      w.Key("beta");
      w.Number(r.beta);
      w.EndObject();
      w.Key("probability_best");
      w.Number(r.probability_best);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("shadows");
  w.BeginArray();
  for (const auto& s : state.shadows) w.String(s);
  w.EndArray();
  w.EndObject();
  return out;
}

core::Result<std::vector<std::pair<std::string, double>>> DecodeWeights(std::string_view json,
                                                                        const core::RequestLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(const element root, ParseRequestJson(json, limits));
  simdjson::dom::object weights;
  if (root["weights"].get_object().get(weights)) {
    return core::InvalidArgument("request body must be {\"weights\": {\"<route>\": <weight>, ...}}");
  }
  std::vector<std::pair<std::string, double>> out;
  for (auto field : weights) {
    double weight = 0;
    if (field.value.get_double().get(weight) || !std::isfinite(weight) || weight < 0) {
      return core::InvalidArgument(fmt::format("weight of route '{}' must be a number >= 0", std::string_view(field.key)));
    }
    out.emplace_back(std::string(field.key), weight);
  }
  if (out.empty()) return core::InvalidArgument("'weights' names no route");
  return out;
}

core::Result<FeedbackRequest> DecodeFeedback(std::string_view json, const core::RequestLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(const element root, ParseRequestJson(json, limits));
  FeedbackRequest request;
  simdjson::dom::array list;
  if (!root.get_array().get(list)) {
    request.list = true;
    std::size_t i = 0;
    for (element item : list) {
      FERRY_ASSIGN_OR_RETURN(auto feedback, OneFeedback(item, fmt::format("feedback[{}]", i++)));
      request.feedback.push_back(std::move(feedback));
    }
    if (request.feedback.empty()) return core::InvalidArgument("the feedback list is empty");
    return request;
  }
  FERRY_ASSIGN_OR_RETURN(auto feedback, OneFeedback(root, "the feedback"));
  request.feedback.push_back(std::move(feedback));
  return request;
}

std::string EncodeFeedbackResults(const std::vector<routing::FeedbackResult>& results, bool list) {
  std::string out;
  JsonWriter w(out);
  if (!list && results.size() == 1) {
    WriteResult(results.front(), w);
    return out;
  }
  w.BeginArray();
  for (const auto& r : results) WriteResult(r, w);
  w.EndArray();
  return out;
}

}  // namespace ferry::protocol
