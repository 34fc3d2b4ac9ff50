// Step: one stage of a pipeline, built once from its entry in model.yaml `pipeline:` and then
// applied to many frames, from any thread (steps are immutable after construction).
//
// Building a step checks its configuration against the names defined by the steps before it
// (Symbols), so that a misspelt field is refused when the pipeline loads, with the step and the
// line, rather than on the first request. Applying a step works on the live records of a frame;
// a record-level failure marks the record rejected (or skipped); an error returned from Apply is
// a fault of the whole batch (a model error, a missing model output).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "pipeline/frame.h"

namespace ferry::pipeline {

class ModelStep;

class Step {
 public:
  Step(std::string name, std::string kind) : name_(std::move(name)), kind_(std::move(kind)) {}
  virtual ~Step() = default;
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

  const std::string& name() const { return name_; }
  const std::string& kind() const { return kind_; }

  virtual core::Result<void> Apply(Frame& frame) const = 0;
  virtual const ModelStep* AsModel() const { return nullptr; }
  // An input check (record, validate): it also runs on rows other input checks rejected, so
  // that a record's every problem is reported at once (Frame::RejectField).
  virtual bool ChecksInput() const { return false; }
  // What the names this step writes are computed from, (written, read) pairs: a transform's
  // output from its field, each one_hot column from its field. For explanations that speak in
  // record fields (docs/explain.md); steps that only pass values on leave it empty.
  virtual std::vector<std::pair<std::string, std::string>> Sources() const { return {}; }

 private:
  std::string name_;
  std::string kind_;
};

// What a name stands for while the pipeline is built: a column of a kind, or a tensor.
struct Symbol {
  bool tensor = false;
  ColumnKind kind = ColumnKind::kNumber;  // columns
  std::size_t width = 1;                  // kVector columns; 0 when not known
};

class Symbols {
 public:
  void Define(const std::string& name, Symbol symbol) { symbols_[name] = symbol; }
  void Remove(const std::string& name) { symbols_.erase(name); }
  const Symbol* Find(std::string_view name) const {
    auto it = symbols_.find(name);
    return it == symbols_.end() ? nullptr : &it->second;
  }
  // After a model step that does not list its outputs, unknown names may be model outputs:
  // they are taken as tensors and checked when the model answers.
  void OpenForModelOutputs() { open_ = true; }
  bool open() const { return open_; }
  const std::map<std::string, Symbol, std::less<>>& all() const { return symbols_; }

 private:
  std::map<std::string, Symbol, std::less<>> symbols_;
  bool open_ = false;
};

// A step's entry in model.yaml, with typed getters whose errors name the step, the key and the
// line: "pima-pipeline/model.yaml:12: step 'bmi': 'field' must be a string".
class StepConfig {
 public:
  StepConfig(const YAML::Node& node, std::string source, std::string name, std::string kind)
      : node_(node), source_(std::move(source)), name_(std::move(name)), kind_(std::move(kind)) {}

  const std::string& name() const { return name_; }
  const std::string& kind() const { return kind_; }
  // The model.yaml the step is in, as its errors name it (a path when read from a file).
  const std::string& source() const { return source_; }
  bool Has(std::string_view key) const { return static_cast<bool>(node_[std::string(key)]); }
  const YAML::Node& node() const { return node_; }

  std::unexpected<core::Error> Fail(std::string_view message) const { return Fail(node_, message); }
  std::unexpected<core::Error> Fail(const YAML::Node& at, std::string_view message) const;

  // Every key of the step must be one of `known` (besides name and kind).
  core::Result<void> OnlyKeys(std::initializer_list<std::string_view> known) const;

  core::Result<std::string> String(std::string_view key) const;
  core::Result<std::string> String(std::string_view key, std::string_view fallback) const;
  core::Result<double> Number(std::string_view key) const;
  core::Result<std::optional<double>> OptionalNumber(std::string_view key) const;
  core::Result<std::vector<std::string>> Strings(std::string_view key) const;
  core::Result<std::vector<double>> Numbers(std::string_view key) const;
  // A scalar as written (numbers too): for allowed values and mappings.
  core::Result<std::string> Scalar(const YAML::Node& node, std::string_view what) const;

  // A name an earlier step defined; `want_numeric`: it must be a number or boolean column.
  core::Result<Symbol> Use(const Symbols& symbols, std::string_view field, bool want_numeric) const;

 private:
  YAML::Node node_;
  std::string source_;
  std::string name_;
  std::string kind_;
};

// The step kinds besides `model` (model_step.h), by configuration kind.
using StepFactory = core::Result<std::unique_ptr<Step>> (*)(const StepConfig&, Symbols&);
const StepFactory* FindStepFactory(std::string_view kind);
// Adds a step kind from outside the pipeline library (the `python` step); call at start-up,
// before any pipeline is parsed.
void RegisterStepKind(std::string name, StepFactory make);
std::vector<std::string_view> StepKinds();

// Comparisons, for `threshold` and `filter`: greater_than, greater_or_equal, less_than,
// less_or_equal, equals, not_equals (numbers), in (allowed values, as written).
struct Condition {
  enum class Op : std::uint8_t { kGreater, kGreaterOrEqual, kLess, kLessOrEqual, kEqual, kNotEqual, kIn, kMissing };
  Op op = Op::kGreater;
  double value = 0;
  std::vector<std::string> values;  // kIn

  static core::Result<Condition> Parse(const StepConfig& config);
  // Whether row `row` of `column` meets it (a missing value meets only kMissing).
  bool Test(const Column& column, std::size_t row) const;
  std::string ToString() const;
};

// A number as a column would print it: 3 for 3.0, 0.5, ...
std::string FormatNumber(double value);

}  // namespace ferry::pipeline
