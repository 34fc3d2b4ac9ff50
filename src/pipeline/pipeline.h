// Pipeline: a model of the repository whose model.yaml has `pipeline:`, an ordered list of named
// steps that take a business record (or tensors) through feature engineering, one or more
// models, and post-processing to an answer:
//
//   pipeline:
//     - {name: fields, kind: record, fields: {age: integer, mass: number, ...}}
//     - {name: check, kind: validate, rules: [{field: age, min: 0, max: 120}]}
//     - {name: log_mass, kind: log1p, field: mass}
//     - {name: features, kind: tensor, output: features, fields: [age, mass]}
//     - {name: score, kind: model, model: pima}
//     - {name: label, kind: label, input: probability, threshold: 0.5, labels: [healthy, diabetic]}
//     - {name: answer, kind: respond, fields: [probability, label]}
//
// (docs/pipelines.md lists every kind.) A pipeline is built once when its model loads -- every
// name a step uses is checked then -- and is immutable and shared afterwards: Run may be called
// from any thread, concurrently. It knows nothing of HTTP or Kafka: a frontend turns its input
// into a Frame and renders the finished frame with AnswerWriter / AnswerTensors.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/inference.h"
#include "core/json_writer.h"
#include "pipeline/frame.h"
#include "pipeline/model_invoker.h"
#include "pipeline/record_fields.h"
#include "pipeline/step.h"

namespace ferry::pipeline {

class Pipeline : public std::enable_shared_from_this<Pipeline> {
 public:
  using Done = std::move_only_function<void(core::Result<Frame>)>;

  // `model_yaml` is the whole model.yaml (its `pipeline:` key is read); `source` names it in
  // errors; `self` is the pipeline's own model name (a model step may not call it).
  static core::Result<std::shared_ptr<const Pipeline>> Parse(std::string_view model_yaml, std::string source,
                                                             std::string_view self);

  // Runs a frame of records through every step; `done` runs once, on any thread. Records
  // rejected or skipped are marked in the frame's status; an error is a fault of the batch.
  void Run(Frame frame, ModelInvoker& invoker, Done done) const;
  // Runs a frame of tensors (named as the tensor steps' outputs) through the steps after them.
  void RunTensors(Frame frame, ModelInvoker& invoker, Done done) const;

  // Whether the pipeline reads records (it has a record step), and their fields.
  bool TakesRecords() const { return record_fields_ != nullptr; }
  const std::vector<RecordField>& record_fields() const;
  // The tensors RunTensors takes (the tensor steps' outputs), and why it cannot, if it cannot.
  const std::vector<core::TensorSpec>& input_tensors() const { return input_tensors_; }
  const std::string& tensor_entry_error() const { return tensor_entry_error_; }
  // The answer's outputs as tensors, for metadata; model outputs are described by `invoker`.
  std::vector<core::TensorSpec> OutputSpecs(const ModelInvoker& invoker) const;

  // Writes the answers of a finished frame's live rows as JSON objects: the names and values are
  // looked up once for the frame, then each row is written straight from its columns.
  class AnswerWriter {
   public:
    AnswerWriter(const Pipeline& pipeline, const Frame& frame);
    // With `replace_field`, that field's value is written by `replace` instead (added last when
    // the answer has no such field); `append` adds members at the end.
    void Write(std::size_t row, core::JsonWriter& w, std::string_view replace_field = {},
               const std::function<void(core::JsonWriter&)>* replace = nullptr,
               const std::function<void(core::JsonWriter&)>* append = nullptr) const;
    // One field of a row's answer as a value (nullopt when the answer has no such field).
    std::optional<core::Value> Get(std::size_t row, std::string_view name) const;

   private:
    struct Field {
      std::string name;
      const Column* column = nullptr;
      const core::Tensor* tensor = nullptr;
      std::size_t width = 1;  // tensor values a row
    };
    std::vector<Field> fields_;
  };
  // The answer of a whole finished frame as output tensors (first dimension = rows).
  core::Result<std::vector<core::Tensor>> AnswerTensors(Frame& frame) const;
  // Fails when a finished frame lacks a value the answer names (a model output not given).
  core::Result<void> CheckAnswer(const Frame& frame) const;

  const std::vector<std::unique_ptr<Step>>& steps() const { return steps_; }

  // For explanations in record fields (docs/explain.md). RunToModel runs the steps before the
  // first model step (none of them calls a model) and answers the frame as the model step gets it.
  core::Result<Frame> RunToModel(Frame frame) const;
  // The record field each column of the frame tensor `tensor` comes from, as the steps before
  // the first model step make it: a tensor step's fields traced back through the transforms
  // (a one_hot column to its field). Empty when no such tensor step writes `tensor`.
  std::vector<std::string> ColumnSources(std::string_view tensor) const;

 private:
  Pipeline() = default;
  void Continue(std::size_t index, Frame frame, ModelInvoker& invoker, Done done) const;
  // (answer name, source name): the respond step's fields, or the default answer of `frame`.
  std::vector<std::pair<std::string, std::string>> Answer(const Frame& frame) const;

  std::vector<std::unique_ptr<Step>> steps_;
  const std::vector<RecordField>* record_fields_ = nullptr;
  std::size_t tensor_entry_ = 0;
  std::vector<core::TensorSpec> input_tensors_;
  std::string tensor_entry_error_;
  std::vector<std::pair<std::string, std::string>> respond_;  // empty: the default answer
  std::vector<std::string> default_answer_;  // names defined after the last model step
  Symbols symbols_;                          // what each name is once every step has run
};

}  // namespace ferry::pipeline
