#include "routing/predictions.h"

#include <cassert>

namespace ferry::routing {

Predictions::Predictions(std::vector<Outcome> outcomes, std::shared_ptr<const Answers> answers, RouteInfo route) {
  rows_.reserve(outcomes.size());
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    rows_.push_back({.outcome = std::move(outcomes[i]), .part = 0, .row = static_cast<std::uint32_t>(i)});
  }
  parts_.push_back({.answers = std::move(answers), .route = std::move(route)});
}

void Predictions::WriteAnswer(std::size_t i, core::JsonWriter& w, const Replacement* replace) const {
  const Row& row = rows_[i];
  const auto& answers = parts_[row.part].answers;
  if (row.outcome.state != State::kAnswered || !answers) {
    w.BeginObject();
    w.EndObject();
    return;
  }
  answers->Write(row.row, w, replace);
}

std::optional<core::Value> Predictions::Field(std::size_t i, std::string_view name) const {
  const Row& row = rows_[i];
  const auto& answers = parts_[row.part].answers;
  if (row.outcome.state != State::kAnswered || !answers) return std::nullopt;
  return answers->Field(row.row, name);
}

void Predictions::Wrap(std::string_view route, std::string_view reason, std::string_view decision_id) {
  for (auto& part : parts_) part.route.Wrap(route, reason, decision_id);
}

void Predictions::Wrap(std::size_t i, std::string_view route, std::string_view reason,
                       std::string_view decision_id) {
  Row& row = rows_[i];
  Part own = parts_[row.part];
  own.route.Wrap(route, reason, decision_id);
  row.part = static_cast<std::uint32_t>(parts_.size());
  parts_.push_back(std::move(own));
}

void Predictions::ForEachRoute(const std::function<void(RouteInfo&)>& set) {
  for (auto& part : parts_) set(part.route);
}

Predictions Predictions::Merge(std::size_t records,
                               std::vector<std::pair<Predictions, std::vector<std::size_t>>> parts) {
  if (parts.size() == 1 && parts.front().second.size() == records) {
    bool identity = true;
    for (std::size_t i = 0; i < records && identity; ++i) identity = parts.front().second[i] == i;
    if (identity) return std::move(parts.front().first);
  }
  Predictions merged;
  merged.rows_.resize(records);
  for (auto& [predictions, indices] : parts) {
    assert(predictions.size() == indices.size());
    const auto offset = static_cast<std::uint32_t>(merged.parts_.size());
    for (std::size_t k = 0; k < indices.size(); ++k) {
      Row row = std::move(predictions.rows_[k]);
      row.part += offset;
      merged.rows_[indices[k]] = std::move(row);
    }
    for (auto& part : predictions.parts_) merged.parts_.push_back(std::move(part));
  }
  return merged;
}

}  // namespace ferry::routing
