// Steps that turn model outputs into answers: label (threshold → class name), argmax, softmax,
// top_k, rename, select. They read a tensor (first dimension = records) or a numeric column.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/json_writer.h"
#include "pipeline/step_kinds.h"

namespace ferry::pipeline {
namespace {

using core::Result;

template <typename T>
void Widen(const core::Tensor& t, std::vector<double>& out) {
  const auto values = t.values<T>();
  out.assign(values.begin(), values.end());
}

// Defines `output` as a column of `kind`; the input must be numeric.
Result<std::pair<std::string, std::string>> InputAndOutput(const StepConfig& c, Symbols& symbols, ColumnKind kind,
                                                           std::size_t width, bool output_required) {
  FERRY_ASSIGN_OR_RETURN(auto input, c.String("input"));
  FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, input, true));
  (void)symbol;
  if (output_required && !c.Has("output")) return c.Fail("'output' is required");
  FERRY_ASSIGN_OR_RETURN(auto output, c.String("output", input));
  symbols.Define(output, Symbol{.tensor = false, .kind = kind, .width = width});
  return std::pair{input, output};
}

class LabelStep final : public Step {
 public:
  LabelStep(const StepConfig& c, std::string input, std::string output, double threshold,
            std::vector<std::string> labels)
      : Step(c.name(), c.kind()), input_(std::move(input)), output_(std::move(output)), threshold_(threshold),
        labels_(std::move(labels)) {}

  Result<void> Apply(Frame& frame) const override {
    FERRY_ASSIGN_OR_RETURN(auto in, ReadNumeric(frame, input_, name()));
    if (in.width != 1) {
      return core::Internal(fmt::format("step '{}': '{}' has {} values a record; label needs one", name(), input_,
                                        in.width));
    }
    Column out = Column::Strings(frame.rows);
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (frame.Live(row)) out.strings[row] = labels_[in.values[row] > threshold_ ? 1 : 0];
    }
    frame.columns.insert_or_assign(output_, std::move(out));
    return {};
  }

 private:
  std::string input_, output_;
  double threshold_;
  std::vector<std::string> labels_;
};

class ArgmaxStep final : public Step {
 public:
  ArgmaxStep(const StepConfig& c, std::string input, std::string output, std::vector<std::string> classes)
      : Step(c.name(), c.kind()), input_(std::move(input)), output_(std::move(output)), classes_(std::move(classes)) {}

  Result<void> Apply(Frame& frame) const override {
    FERRY_ASSIGN_OR_RETURN(auto in, ReadNumeric(frame, input_, name()));
    if (!classes_.empty() && in.width != classes_.size()) {
      return core::Internal(fmt::format("step '{}': '{}' has {} scores a record but {} classes are named", name(),
                                        input_, in.width, classes_.size()));
    }
    Column out = classes_.empty() ? Column::Numbers(frame.rows) : Column::Strings(frame.rows);
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (!frame.Live(row)) continue;
      const double* r = in.Row(row);
      const auto best = static_cast<std::size_t>(std::max_element(r, r + in.width) - r);
      if (classes_.empty()) {
        out.numbers[row] = static_cast<double>(best);
      } else {
        out.strings[row] = classes_[best];
      }
    }
    frame.columns.insert_or_assign(output_, std::move(out));
    return {};
  }

 private:
  std::string input_, output_;
  std::vector<std::string> classes_;
};

void Softmax(const double* in, std::size_t n, double* out) {
  const double top = *std::max_element(in, in + n);
  double sum = 0;
  for (std::size_t k = 0; k < n; ++k) sum += out[k] = std::exp(in[k] - top);
  for (std::size_t k = 0; k < n; ++k) out[k] /= sum;
}

class SoftmaxStep final : public Step {
 public:
  SoftmaxStep(const StepConfig& c, std::string input, std::string output)
      : Step(c.name(), c.kind()), input_(std::move(input)), output_(std::move(output)) {}

  Result<void> Apply(Frame& frame) const override {
    FERRY_ASSIGN_OR_RETURN(auto in, ReadNumeric(frame, input_, name()));
    Column out{.kind = ColumnKind::kVector, .width = in.width, .numbers = std::vector<double>(in.values.size()),
               .strings = {}, .missing = std::vector<std::uint8_t>(frame.rows)};
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (frame.Live(row) && in.width > 0) Softmax(in.Row(row), in.width, out.numbers.data() + row * in.width);
    }
    frame.tensors.erase(output_);
    frame.columns.insert_or_assign(output_, std::move(out));
    return {};
  }

 private:
  std::string input_, output_;
};

class TopKStep final : public Step {
 public:
  TopKStep(const StepConfig& c, std::string input, std::string output, std::size_t k, std::vector<std::string> classes)
      : Step(c.name(), c.kind()), input_(std::move(input)), output_(std::move(output)), k_(k),
        classes_(std::move(classes)) {}

  Result<void> Apply(Frame& frame) const override {
    FERRY_ASSIGN_OR_RETURN(auto in, ReadNumeric(frame, input_, name()));
    if (!classes_.empty() && in.width != classes_.size()) {
      return core::Internal(fmt::format("step '{}': '{}' has {} scores a record but {} classes are named", name(),
                                        input_, in.width, classes_.size()));
    }
    const std::size_t k = std::min(k_, in.width);
    Column out = Column::Strings(frame.rows, ColumnKind::kJson);
    std::vector<std::size_t> order(in.width);
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (!frame.Live(row)) continue;
      const double* r = in.Row(row);
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                        [r](std::size_t a, std::size_t b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
      core::JsonWriter w(out.strings[row]);
      w.BeginArray();
      for (std::size_t i = 0; i < k; ++i) {
        w.BeginObject();
        w.Key("class");
        if (classes_.empty()) {
          w.Number(static_cast<std::int64_t>(order[i]));
        } else {
          w.String(classes_[order[i]]);
        }
        w.Key("score");
        w.Number(r[order[i]]);
        w.EndObject();
      }
      w.EndArray();
    }
    frame.columns.insert_or_assign(output_, std::move(out));
    return {};
  }

 private:
  std::string input_, output_;
  std::size_t k_;
  std::vector<std::string> classes_;
};

class RenameStep final : public Step {
 public:
  RenameStep(const StepConfig& c, std::vector<std::pair<std::string, std::string>> renames)
      : Step(c.name(), c.kind()), renames_(std::move(renames)) {}

  Result<void> Apply(Frame& frame) const override {
    for (const auto& [from, to] : renames_) {
      if (auto column = frame.columns.extract(from)) {
        column.key() = to;
        frame.columns.insert_or_assign(to, std::move(column.mapped()));
      } else if (auto tensor = frame.tensors.extract(from)) {
        frame.tensors.insert_or_assign(to, std::move(tensor.mapped()));
      } else {
        return core::Internal(fmt::format("step '{}': the model gave no output '{}'", name(), from));
      }
    }
    return {};
  }

 private:
  std::vector<std::pair<std::string, std::string>> renames_;
};

class SelectStep final : public Step {
 public:
  SelectStep(const StepConfig& c, std::vector<std::string> keep) : Step(c.name(), c.kind()), keep_(std::move(keep)) {}

  Result<void> Apply(Frame& frame) const override {
    auto kept = [&](const std::string& n) { return std::find(keep_.begin(), keep_.end(), n) != keep_.end(); };
    std::erase_if(frame.columns, [&](const auto& entry) { return !kept(entry.first); });
    std::erase_if(frame.tensors, [&](const auto& entry) { return !kept(entry.first); });
    return {};
  }

 private:
  std::vector<std::string> keep_;
};

Result<std::vector<std::string>> OptionalStrings(const StepConfig& c, std::string_view key) {
  if (!c.Has(key)) return std::vector<std::string>();
  return c.Strings(key);
}

}  // namespace

Result<NumericRows> ReadNumeric(const Frame& frame, std::string_view name, std::string_view step) {
  NumericRows rows;
  if (auto column = frame.columns.find(name); column != frame.columns.end()) {
    const Column& c = column->second;
    if (c.kind == ColumnKind::kString || c.kind == ColumnKind::kJson) {
      return core::Internal(fmt::format("step '{}': '{}' holds text, not numbers", step, name));
    }
    rows.width = c.kind == ColumnKind::kVector ? c.width : 1;
    rows.values = c.numbers;
    return rows;
  }
  const auto tensor = frame.tensors.find(name);
  if (tensor == frame.tensors.end()) {
    return core::Internal(fmt::format("step '{}': no field or model output '{}' (the model did not give it)", step,
                                      name));
  }
  const core::Tensor& t = tensor->second;
  rows.width = frame.rows == 0 ? 0 : static_cast<std::size_t>(t.element_count()) / frame.rows;
  switch (t.type()) {
    case core::DataType::kFp32: Widen<float>(t, rows.values); break;
    case core::DataType::kFp64: Widen<double>(t, rows.values); break;
    case core::DataType::kInt32: Widen<std::int32_t>(t, rows.values); break;
    case core::DataType::kInt64: Widen<std::int64_t>(t, rows.values); break;
    case core::DataType::kUint8: Widen<std::uint8_t>(t, rows.values); break;
    case core::DataType::kBool: Widen<bool>(t, rows.values); break;
    default:
      return core::Internal(fmt::format("step '{}': '{}' is {}; a number type is needed", step, name,
                                        core::DataTypeName(t.type())));
  }
  return rows;
}

Result<std::unique_ptr<Step>> MakeLabelStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"input", "output", "threshold", "labels"}));
  FERRY_ASSIGN_OR_RETURN(auto threshold, c.Number("threshold"));
  FERRY_ASSIGN_OR_RETURN(auto labels, c.Strings("labels"));
  if (labels.size() != 2) return c.Fail("'labels' must name two classes: [below or at the threshold, above]");
  FERRY_ASSIGN_OR_RETURN(auto io, InputAndOutput(c, symbols, ColumnKind::kString, 1, true));
  return std::unique_ptr<Step>(new LabelStep(c, io.first, io.second, threshold, std::move(labels)));
}

Result<std::unique_ptr<Step>> MakeArgmaxStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"input", "output", "classes"}));
  FERRY_ASSIGN_OR_RETURN(auto classes, OptionalStrings(c, "classes"));
  FERRY_ASSIGN_OR_RETURN(auto io, InputAndOutput(c, symbols, classes.empty() ? ColumnKind::kNumber
                                                                             : ColumnKind::kString, 1, true));
  return std::unique_ptr<Step>(new ArgmaxStep(c, io.first, io.second, std::move(classes)));
}

Result<std::unique_ptr<Step>> MakeSoftmaxStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"input", "output"}));
  FERRY_ASSIGN_OR_RETURN(auto io, InputAndOutput(c, symbols, ColumnKind::kVector, 0, false));
  return std::unique_ptr<Step>(new SoftmaxStep(c, io.first, io.second));
}

Result<std::unique_ptr<Step>> MakeTopKStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"input", "output", "k", "classes"}));
  FERRY_ASSIGN_OR_RETURN(const double k, c.Number("k"));
  if (k < 1 || k > 1e6 || k != std::trunc(k)) return c.Fail("'k' must be a whole number of at least 1");
  FERRY_ASSIGN_OR_RETURN(auto classes, OptionalStrings(c, "classes"));
  FERRY_ASSIGN_OR_RETURN(auto io, InputAndOutput(c, symbols, ColumnKind::kJson, 1, true));
  return std::unique_ptr<Step>(new TopKStep(c, io.first, io.second, static_cast<std::size_t>(k), std::move(classes)));
}

Result<std::unique_ptr<Step>> MakeRenameStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"mapping"}));
  const YAML::Node map = c.node()["mapping"];
  if (!map || !map.IsMap() || map.size() == 0) return c.Fail("'mapping' must map old names to new ones");
  std::vector<std::pair<std::string, std::string>> renames;
  for (const auto& entry : map) {
    FERRY_ASSIGN_OR_RETURN(auto from, c.Scalar(entry.first, "a name"));
    FERRY_ASSIGN_OR_RETURN(auto to, c.Scalar(entry.second, "a name"));
    FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, from, false));
    symbols.Remove(from);
    symbols.Define(to, symbol);
    renames.emplace_back(std::move(from), std::move(to));
  }
  return std::unique_ptr<Step>(new RenameStep(c, std::move(renames)));
}

Result<std::unique_ptr<Step>> MakeSelectStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"fields"}));
  FERRY_ASSIGN_OR_RETURN(auto keep, c.Strings("fields"));
  Symbols kept;
  for (const auto& name : keep) {
    FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, name, false));
    kept.Define(name, symbol);
  }
  symbols = kept;
  return std::unique_ptr<Step>(new SelectStep(c, std::move(keep)));
}

}  // namespace ferry::pipeline
