#include "routing/feedback.h"

#include <cmath>
#include <variant>

namespace ferry::routing {

std::optional<core::Result<Feedback>> FeedbackOf(const core::InferenceRequest& request) {
  auto id = request.parameters.find(kFeedbackParameter);
  if (id == request.parameters.end()) return std::nullopt;
  Feedback feedback;
  if (const auto* text = std::get_if<std::string>(&id->second); text && !text->empty()) {
    feedback.decision_id = *text;
  } else {
    return core::Result<Feedback>(core::InvalidArgument(
        "parameter ferry_feedback must be a decision id (the answer's ferry-decision-id), as a string"));
  }
  if (auto reward = request.parameters.find("reward"); reward != request.parameters.end()) {
    if (const auto* d = std::get_if<double>(&reward->second)) {
      feedback.reward = *d;
    } else if (const auto* i = std::get_if<std::int64_t>(&reward->second)) {
      feedback.reward = static_cast<double>(*i);
    } else if (const auto* b = std::get_if<bool>(&reward->second)) {
      feedback.reward = *b ? 1.0 : 0.0;
    } else {
      return core::Result<Feedback>(core::InvalidArgument("parameter reward must be a number"));
    }
  }
  for (const auto& input : request.inputs) {
    if (input.name() != "rewards") {
      return core::Result<Feedback>(core::InvalidArgument(
          "feedback takes one input, 'rewards' (FP32 or FP64, one a row), or a parameter reward"));
    }
    if (input.type() == core::DataType::kFp32) {
      for (float r : input.values<float>()) feedback.rewards.push_back(r);
    } else if (input.type() == core::DataType::kFp64) {
      for (double r : input.values<double>()) feedback.rewards.push_back(r);
    } else {
      return core::Result<Feedback>(core::InvalidArgument("input 'rewards' must be FP32 or FP64"));
    }
  }
  if (feedback.reward.has_value() == !feedback.rewards.empty()) {
    return core::Result<Feedback>(core::InvalidArgument(
        "feedback needs either a parameter reward (for every row) or an input 'rewards' (one a row)"));
  }
  return core::Result<Feedback>(std::move(feedback));
}

core::InferenceResponse FeedbackAnswer(const core::InferenceRequest& request, const FeedbackResult& result) {
  core::InferenceResponse response{.model_name = request.model_name, .model_version = request.model_version,
                                   .id = request.id, .parameters = {}, .outputs = {}};
  response.parameters.emplace("ferry-feedback", std::string(FeedbackOutcomeName(result.outcome)));
  response.parameters.emplace("ferry-feedback-rows", static_cast<std::int64_t>(result.rows));
  if (!result.route.empty()) response.parameters.emplace("ferry-route", result.route);
  if (!result.detail.empty()) response.parameters.emplace("ferry-feedback-detail", result.detail);
  return response;
}

}  // namespace ferry::routing
