// Fuzz target: the bodies of a router's control routes -- PUT /v2/models/{r}/routing (weights)
// and POST /v2/models/{r}/feedback -- decoded, and feedback answers encoded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/routing_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ferry::protocol::DecodeWeights(text);
  if (auto feedback = ferry::protocol::DecodeFeedback(text)) {
    std::vector<ferry::routing::FeedbackResult> results;
    for (const auto& f : feedback->feedback) {
      results.push_back({.outcome = ferry::routing::FeedbackResult::Outcome::kUnknown, .decision_id = f.decision_id,
                         .route = {}, .rows = f.rewards.size(), .detail = {}});
    }
    (void)ferry::protocol::EncodeFeedbackResults(results, feedback->list);
  }
  return 0;
}
