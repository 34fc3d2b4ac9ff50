// Feedback sent as an inference request, for clients that speak only the V2 infer call (gRPC
// ModelInfer, ModelStreamInfer): a request to a bandit router whose parameter `ferry_feedback`
// holds the decision id, with a parameter `reward` (a number, for every row of the decision) or an
// input `rewards` (FP32 or FP64, one a row). It is answered without outputs, with parameters
// ferry-feedback (applied | unknown | expired | duplicate | invalid), ferry-feedback-rows and
// ferry-feedback-detail. Pure functions.
#pragma once

#include <optional>

#include "core/error.h"
#include "core/inference.h"
#include "routing/servable.h"

namespace ferry::routing {

inline constexpr std::string_view kFeedbackParameter = "ferry_feedback";

// nullopt: the request is not feedback; an error: it is, but malformed.
std::optional<core::Result<Feedback>> FeedbackOf(const core::InferenceRequest& request);
core::InferenceResponse FeedbackAnswer(const core::InferenceRequest& request, const FeedbackResult& result);

}  // namespace ferry::routing
