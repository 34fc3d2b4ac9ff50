#include "pipeline/frame.h"

#include <algorithm>

#include <fmt/format.h>

namespace ferry::pipeline {

std::string_view ColumnKindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kNumber: return "number";
    case ColumnKind::kBool: return "boolean";
    case ColumnKind::kString: return "string";
    case ColumnKind::kVector: return "array";
    case ColumnKind::kJson: return "json";
  }
  return "value";
}

Frame Frame::FromRecords(std::vector<Record> records) {
  Frame frame;
  frame.rows = records.size();
  frame.status.resize(frame.rows);
  frame.records = std::move(records);
  return frame;
}

core::Result<Frame> Frame::FromTensors(std::vector<core::Tensor> tensors) {
  Frame frame;
  bool first = true;
  for (auto& t : tensors) {
    if (t.shape().rank() == 0) {
      return core::InvalidArgument(fmt::format("input '{}' must have a first dimension of one row a record",
                                               t.name()));
    }
    const auto rows = static_cast<std::size_t>(t.shape()[0]);
    if (first) {
      frame.rows = rows;
      first = false;
    } else if (rows != frame.rows) {
      return core::InvalidArgument(fmt::format("input '{}' has {} rows but the first input has {}", t.name(),
                                               rows, frame.rows));
    }
    std::string name = t.name();
    frame.tensors.insert_or_assign(std::move(name), std::move(t));
  }
  frame.status.resize(frame.rows);
  return frame;
}

std::size_t Frame::LiveCount() const {
  std::size_t live = 0;
  for (const auto& s : status) live += s.state == RowStatus::State::kLive;
  return live;
}

void Frame::Reject(std::size_t row, std::string_view step, std::string error) {
  auto& s = status[row];
  if (s.state != RowStatus::State::kLive) return;
  s.state = RowStatus::State::kRejected;
  s.step = step;
  s.error = std::move(error);
}

void Frame::RejectField(std::size_t row, std::string_view step, std::string_view field, std::string reason) {
  auto& s = status[row];
  if (s.state == RowStatus::State::kLive) {
    s.state = RowStatus::State::kRejected;
    s.step = step;
    s.error = reason;
    s.checking = true;
  } else if (!s.checking) {
    return;
  }
  s.problems.push_back({std::string(field), std::move(reason)});
}

bool Frame::HasProblem(std::size_t row, std::string_view field) const {
  const auto& problems = status[row].problems;
  return std::any_of(problems.begin(), problems.end(), [&](const auto& p) { return p.field == field; });
}

void Frame::Skip(std::size_t row, std::string_view step) {
  auto& s = status[row];
  if (s.state != RowStatus::State::kLive) return;
  s.state = RowStatus::State::kSkipped;
  s.step = step;
}

}  // namespace ferry::pipeline
