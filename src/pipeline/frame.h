// Frame: a batch of records on its way through a pipeline, held by column. Steps read and write
// named columns (one value a record: a number, a boolean, a string, a fixed-width vector of
// numbers, or a JSON fragment) and named tensors (first dimension = one row a record), and mark
// records rejected (with the step and the reason) or skipped. A record once rejected or skipped
// is not "live": later steps leave it alone and the answer has no values for it.
// Plain value type; one frame is worked on by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/call_trace.h"
#include "core/tensor.h"
#include "core/record.h"

namespace ferry::pipeline {

// Records and their values are core types (core/record.h): frontends decode them, pipelines read them.
using core::Field;
using core::KindName;
using core::Record;
using core::Value;

enum class ColumnKind : std::uint8_t { kNumber, kBool, kString, kVector, kJson };

// "number", "boolean", ... as in pipeline configurations and metadata.
std::string_view ColumnKindName(ColumnKind kind);

struct Column {
  ColumnKind kind = ColumnKind::kNumber;
  std::size_t width = 1;             // kVector: numbers a row
  std::vector<double> numbers;       // kNumber, kBool (0/1), kVector (rows * width)
  std::vector<std::string> strings;  // kString, kJson (a JSON text a row)
  std::vector<std::uint8_t> missing; // one a row: 1 when the record had no value

  static Column Numbers(std::size_t rows, ColumnKind kind = ColumnKind::kNumber) {
    return {.kind = kind, .width = 1, .numbers = std::vector<double>(rows), .strings = {},
            .missing = std::vector<std::uint8_t>(rows)};
  }
  static Column Strings(std::size_t rows, ColumnKind kind = ColumnKind::kString) {
    return {.kind = kind, .width = 1, .numbers = {}, .strings = std::vector<std::string>(rows),
            .missing = std::vector<std::uint8_t>(rows)};
  }
  bool IsNumeric() const { return kind == ColumnKind::kNumber || kind == ColumnKind::kBool; }
};

struct RowStatus {
  enum class State : std::uint8_t { kLive, kRejected, kSkipped };
  State state = State::kLive;
  std::string step;   // the step that rejected or skipped it
  std::string error;  // why it was rejected (the first problem)
  // Every problem of the record found by the input checks (record and validate steps), so that
  // a client fixes them in one round; empty when something else rejected it.
  std::vector<core::FieldProblem> problems;
  bool checking = false;  // rejected by input checks only: later checks still look at the row
};

struct Frame {
  std::size_t rows = 0;
  std::vector<Record> records;  // the input, when the frame came from records
  std::vector<RowStatus> status;
  std::map<std::string, Column, std::less<>> columns;
  std::map<std::string, core::Tensor, std::less<>> tensors;
  std::vector<std::string> model_outputs;  // the names the last model step put in tensors
  // The traced call the frame belongs to: each step is recorded on it (core/call_trace.h).
  std::shared_ptr<core::CallTrace> trace;

  static Frame FromRecords(std::vector<Record> records);
  // A frame entering after the tensor steps: every tensor must have the same first dimension.
  static core::Result<Frame> FromTensors(std::vector<core::Tensor> tensors);

  bool Live(std::size_t row) const { return status[row].state == RowStatus::State::kLive; }
  std::size_t LiveCount() const;
  void Reject(std::size_t row, std::string_view step, std::string error);
  // A problem with one field found by an input check: rejects a live row as Reject does, and
  // adds to the problems of a row other input checks rejected.
  void RejectField(std::size_t row, std::string_view step, std::string_view field, std::string reason);
  // Whether an input check is to look at the row: live, or rejected by input checks only.
  bool Checkable(std::size_t row) const { return Live(row) || status[row].checking; }
  // Whether an input check already found a problem with `field` in the row.
  bool HasProblem(std::size_t row, std::string_view field) const;
  void Skip(std::size_t row, std::string_view step);
};

}  // namespace ferry::pipeline
