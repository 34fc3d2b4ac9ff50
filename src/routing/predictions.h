// Predictions: the answer to a Predict call, one outcome a record in the order sent: answered
// (an answer object), rejected (by which step, and why) or skipped; and for each record which
// servable answered it (RouteInfo). This is the one place answers to records are rendered, for
// HTTP /predict and Kafka sinks alike: WriteAnswer writes a record's answer as a JSON object.
//
// The values of answered records stay where they were computed (a pipeline's finished frame, an
// ensemble's aggregate: an Answers source shared by the outcomes that read from it), so an
// answer is written straight from them, without an intermediate copy a record. A router merges
// the Predictions of the calls it made into one.
// Value type; safe to read from several threads once built, not to change concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "core/record.h"
#include "core/record.h"
#include "routing/route_info.h"

namespace ferry::routing {

class Predictions {
 public:
  enum class State : std::uint8_t { kAnswered, kRejected, kSkipped };
  struct Outcome {
    State state = State::kAnswered;
    std::string step;   // the step that rejected or skipped it
    std::string error;  // why it was rejected
    std::vector<core::FieldProblem> problems;  // every problem of the record, when input checks found them
  };

  // A field of an answer to write differently (an ensemble's aggregate over its members').
  struct Replacement {
    std::string_view field;
    std::function<void(core::JsonWriter&)> write;
    std::function<void(core::JsonWriter&)> append;  // more members to add at the end (may be empty)
  };

  // Where answered records' values live. Rows are those of the outcomes the source came with.
  class Answers {
   public:
    virtual ~Answers() = default;
    // Writes row `row`'s answer as a JSON object; with `replace`, that field (added when the
    // answer has none) is written by it.
    virtual void Write(std::size_t row, core::JsonWriter& w, const Replacement* replace = nullptr) const = 0;
    // A field of row `row`'s answer (nullopt when it has none).
    virtual std::optional<core::Value> Field(std::size_t row, std::string_view name) const = 0;
  };

  Predictions() = default;
  // Records 0..n-1 with their outcomes; an answered record's values are row i of `answers`.
  Predictions(std::vector<Outcome> outcomes, std::shared_ptr<const Answers> answers, RouteInfo route);

  std::size_t size() const { return rows_.size(); }
  const Outcome& outcome(std::size_t i) const { return rows_[i].outcome; }
  State state(std::size_t i) const { return rows_[i].outcome.state; }
  void WriteAnswer(std::size_t i, core::JsonWriter& w, const Replacement* replace = nullptr) const;
  std::optional<core::Value> Field(std::size_t i, std::string_view name) const;
  const RouteInfo& route(std::size_t i) const { return parts_[rows_[i].part].route; }

  // A router's decision around every record's route (RouteInfo::Wrap).
  void Wrap(std::string_view route, std::string_view reason, std::string_view decision_id);
  // The same around record i's route only (a decision made for that record alone).
  void Wrap(std::size_t i, std::string_view route, std::string_view reason, std::string_view decision_id);
  // Sets every record's route as `set` says (an ensemble naming the members that took part).
  void ForEachRoute(const std::function<void(RouteInfo&)>& set);

  // One Predictions for `records` records out of calls that each answered some of them:
  // parts[k].first answered the records parts[k].second (indices, in its order). Every record
  // must be covered exactly once.
  static Predictions Merge(std::size_t records, std::vector<std::pair<Predictions, std::vector<std::size_t>>> parts);

 private:
  struct Row {
    Outcome outcome;
    std::uint32_t part = 0;  // where its answer lives
    std::uint32_t row = 0;   // its row there
  };
  struct Part {
    std::shared_ptr<const Answers> answers;
    RouteInfo route;
  };
  std::vector<Row> rows_;
  std::vector<Part> parts_;
};

}  // namespace ferry::routing
