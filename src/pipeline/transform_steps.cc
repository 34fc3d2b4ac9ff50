// Feature engineering on named columns: standardize, minmax, log1p, clip, impute, one_hot, map,
// bucketize, threshold. Each reads `field` and writes `output` (default: `field` itself); a
// missing value stays missing (impute fills it), and a value outside a transform's domain
// (log1p of -2) rejects the record naming the field.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include "pipeline/step_kinds.h"

namespace ferry::pipeline {
namespace {

using core::Result;

// Reads the common keys `field` and `output`; checks the field is a number and defines output.
struct FieldAndOutput {
  std::string field;
  std::string output;
};

Result<FieldAndOutput> NumericIo(const StepConfig& c, Symbols& symbols, ColumnKind out_kind = ColumnKind::kNumber) {
  FieldAndOutput io;
  FERRY_ASSIGN_OR_RETURN(io.field, c.String("field"));
  FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, io.field, true));
  if (symbol.tensor) return c.Fail(fmt::format("'{}' is a tensor; this step works on record fields", io.field));
  FERRY_ASSIGN_OR_RETURN(io.output, c.String("output", io.field));
  symbols.Define(io.output, Symbol{.tensor = false, .kind = out_kind, .width = 1});
  return io;
}

// y = fn(x) on each live, present value. A NaN from a number means x is outside fn's domain.
template <typename Fn>
class NumericTransform final : public Step {
 public:
  NumericTransform(const StepConfig& c, FieldAndOutput io, Fn fn, std::string domain)
      : Step(c.name(), c.kind()), io_(std::move(io)), fn_(std::move(fn)), domain_(std::move(domain)) {}

  Result<void> Apply(Frame& frame) const override {
    const Column& in = frame.columns.find(io_.field)->second;
    Column out = Column::Numbers(frame.rows);
    out.missing = in.missing;
    for (std::size_t row = 0; row < frame.rows; ++row) {
      const double x = in.numbers[row];
      if (in.missing[row] || !frame.Live(row)) {
        out.numbers[row] = std::nan("");
        continue;
      }
      const double y = fn_(x);
      if (std::isnan(y) && !std::isnan(x)) {
        frame.Reject(row, name(), fmt::format("field '{}': {} of {} is not defined ({})", io_.field, kind(),
                                              FormatNumber(x), domain_));
      }
      out.numbers[row] = y;
    }
    frame.columns.insert_or_assign(io_.output, std::move(out));
    return {};
  }
  std::vector<std::pair<std::string, std::string>> Sources() const override { return {{io_.output, io_.field}}; }

 private:
  FieldAndOutput io_;
  Fn fn_;
  std::string domain_;
};

template <typename Fn>
std::unique_ptr<Step> MakeNumeric(const StepConfig& c, FieldAndOutput io, Fn fn, std::string domain = "") {
  return std::make_unique<NumericTransform<Fn>>(c, std::move(io), std::move(fn), std::move(domain));
}

class ImputeStep final : public Step {
 public:
  ImputeStep(const StepConfig& c, FieldAndOutput io, double value)
      : Step(c.name(), c.kind()), io_(std::move(io)), value_(value) {}

  Result<void> Apply(Frame& frame) const override {
    Column out = frame.columns.find(io_.field)->second;
    out.kind = ColumnKind::kNumber;
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (out.missing[row] || std::isnan(out.numbers[row])) {
        out.numbers[row] = value_;
        out.missing[row] = 0;
      }
    }
    frame.columns.insert_or_assign(io_.output, std::move(out));
    return {};
  }
  std::vector<std::pair<std::string, std::string>> Sources() const override { return {{io_.output, io_.field}}; }

 private:
  FieldAndOutput io_;
  double value_;
};

// The text of a value in a number or string column, for lookups by value.
std::string TextOf(const Column& column, std::size_t row) {
  return column.IsNumeric() ? FormatNumber(column.numbers[row]) : column.strings[row];
}

class OneHotStep final : public Step {
 public:
  OneHotStep(const StepConfig& c, std::string field, std::vector<std::string> values, std::vector<std::string> outputs,
             bool reject_unknown)
      : Step(c.name(), c.kind()), field_(std::move(field)), values_(std::move(values)), outputs_(std::move(outputs)),
        reject_unknown_(reject_unknown) {}

  Result<void> Apply(Frame& frame) const override {
    const Column& in = frame.columns.find(field_)->second;
    std::vector<Column> out(values_.size(), Column::Numbers(frame.rows, ColumnKind::kBool));
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (!frame.Live(row) || in.missing[row]) continue;
      const std::string text = TextOf(in, row);
      const auto it = std::find(values_.begin(), values_.end(), text);
      if (it == values_.end()) {
        if (reject_unknown_) {
          frame.Reject(row, name(), fmt::format("field '{}': '{}' is not one of [{}]", field_, text,
                                                fmt::join(values_, ", ")));
        }
        continue;
      }
      out[static_cast<std::size_t>(it - values_.begin())].numbers[row] = 1.0;
    }
    for (std::size_t i = 0; i < values_.size(); ++i) frame.columns.insert_or_assign(outputs_[i], std::move(out[i]));
    return {};
  }
  std::vector<std::pair<std::string, std::string>> Sources() const override {
    std::vector<std::pair<std::string, std::string>> sources;
    for (const auto& output : outputs_) sources.emplace_back(output, field_);
    return sources;
  }

 private:
  std::string field_;
  std::vector<std::string> values_;
  std::vector<std::string> outputs_;
  bool reject_unknown_;
};

class MapStep final : public Step {
 public:
  MapStep(const StepConfig& c, FieldAndOutput io, std::unordered_map<std::string, double> mapping,
          std::optional<double> fallback)
      : Step(c.name(), c.kind()), io_(std::move(io)), mapping_(std::move(mapping)), fallback_(fallback) {}

  Result<void> Apply(Frame& frame) const override {
    const Column& in = frame.columns.find(io_.field)->second;
    Column out = Column::Numbers(frame.rows);
    out.missing = in.missing;
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (!frame.Live(row) || in.missing[row]) continue;
      const std::string text = TextOf(in, row);
      const auto it = mapping_.find(text);
      if (it != mapping_.end()) {
        out.numbers[row] = it->second;
      } else if (fallback_) {
        out.numbers[row] = *fallback_;
      } else {
        std::vector<std::string> keys;
        for (const auto& [k, _] : mapping_) keys.push_back(k);
        std::sort(keys.begin(), keys.end());
        frame.Reject(row, name(), fmt::format("field '{}': '{}' is not one of the mapped values [{}]", io_.field, text,
                                              fmt::join(keys, ", ")));
      }
    }
    frame.columns.insert_or_assign(io_.output, std::move(out));
    return {};
  }
  std::vector<std::pair<std::string, std::string>> Sources() const override { return {{io_.output, io_.field}}; }

 private:
  FieldAndOutput io_;
  std::unordered_map<std::string, double> mapping_;
  std::optional<double> fallback_;
};

class ThresholdStep final : public Step {
 public:
  ThresholdStep(const StepConfig& c, FieldAndOutput io, Condition condition)
      : Step(c.name(), c.kind()), io_(std::move(io)), condition_(std::move(condition)) {}

  Result<void> Apply(Frame& frame) const override {
    const Column& in = frame.columns.find(io_.field)->second;
    Column out = Column::Numbers(frame.rows, ColumnKind::kBool);
    out.missing = in.missing;
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (!in.missing[row]) out.numbers[row] = condition_.Test(in, row) ? 1.0 : 0.0;
    }
    frame.columns.insert_or_assign(io_.output, std::move(out));
    return {};
  }
  std::vector<std::pair<std::string, std::string>> Sources() const override { return {{io_.output, io_.field}}; }

 private:
  FieldAndOutput io_;
  Condition condition_;
};

}  // namespace

Result<std::unique_ptr<Step>> MakeStandardizeStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output", "mean", "std"}));
  FERRY_ASSIGN_OR_RETURN(const double mean, c.Number("mean"));
  FERRY_ASSIGN_OR_RETURN(const double std, c.Number("std"));
  if (!(std > 0)) return c.Fail("'std' must be above 0");
  FERRY_ASSIGN_OR_RETURN(auto io, NumericIo(c, symbols));
  return MakeNumeric(c, std::move(io), [mean, std](double x) { return (x - mean) / std; });
}

Result<std::unique_ptr<Step>> MakeMinMaxStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output", "min", "max"}));
  FERRY_ASSIGN_OR_RETURN(const double min, c.Number("min"));
  FERRY_ASSIGN_OR_RETURN(const double max, c.Number("max"));
  if (!(max > min)) return c.Fail("'max' must be above 'min'");
  FERRY_ASSIGN_OR_RETURN(auto io, NumericIo(c, symbols));
  return MakeNumeric(c, std::move(io), [min, range = max - min](double x) { return (x - min) / range; });
}

Result<std::unique_ptr<Step>> MakeLog1pStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output"}));
  FERRY_ASSIGN_OR_RETURN(auto io, NumericIo(c, symbols));
  return MakeNumeric(
      c, std::move(io), [](double x) { return x <= -1 ? std::nan("") : std::log1p(x); }, "it needs a value above -1");
}

Result<std::unique_ptr<Step>> MakeClipStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output", "min", "max"}));
  FERRY_ASSIGN_OR_RETURN(const auto min, c.OptionalNumber("min"));
  FERRY_ASSIGN_OR_RETURN(const auto max, c.OptionalNumber("max"));
  if (!min && !max) return c.Fail("give 'min', 'max' or both");
  if (min && max && *max < *min) return c.Fail("'max' must not be below 'min'");
  FERRY_ASSIGN_OR_RETURN(auto io, NumericIo(c, symbols));
  const double lo = min.value_or(-INFINITY), hi = max.value_or(INFINITY);
  return MakeNumeric(c, std::move(io), [lo, hi](double x) { return std::isnan(x) ? x : std::clamp(x, lo, hi); });
}

Result<std::unique_ptr<Step>> MakeImputeStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output", "value", "mean"}));
  if (c.Has("value") == c.Has("mean")) {
    return c.Fail("give either 'value' (a constant) or 'mean' (the training mean)");
  }
  FERRY_ASSIGN_OR_RETURN(const double value, c.Number(c.Has("value") ? "value" : "mean"));
  FERRY_ASSIGN_OR_RETURN(auto io, NumericIo(c, symbols));
  return std::unique_ptr<Step>(new ImputeStep(c, std::move(io), value));
}

Result<std::unique_ptr<Step>> MakeOneHotStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "values", "prefix", "unknown"}));
  FERRY_ASSIGN_OR_RETURN(auto field, c.String("field"));
  FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, field, false));
  if (symbol.tensor || symbol.kind == ColumnKind::kVector || symbol.kind == ColumnKind::kJson) {
    return c.Fail(fmt::format("'{}' must be a string or number field", field));
  }
  FERRY_ASSIGN_OR_RETURN(auto values, c.Strings("values"));
  if (values.empty()) return c.Fail("'values' must list at least one value");
  FERRY_ASSIGN_OR_RETURN(auto prefix, c.String("prefix", field + "_"));
  FERRY_ASSIGN_OR_RETURN(auto unknown, c.String("unknown", "ignore"));
  if (unknown != "ignore" && unknown != "reject") return c.Fail("'unknown' must be ignore or reject");
  std::vector<std::string> outputs;
  for (const auto& v : values) {
    outputs.push_back(prefix + v);
    symbols.Define(outputs.back(), Symbol{.tensor = false, .kind = ColumnKind::kBool, .width = 1});
  }
  return std::unique_ptr<Step>(new OneHotStep(c, field, std::move(values), std::move(outputs), unknown == "reject"));
}

Result<std::unique_ptr<Step>> MakeMapStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output", "mapping", "default"}));
  FERRY_ASSIGN_OR_RETURN(auto field, c.String("field"));
  FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, field, false));
  if (symbol.tensor || symbol.kind == ColumnKind::kVector || symbol.kind == ColumnKind::kJson) {
    return c.Fail(fmt::format("'{}' must be a string or number field", field));
  }
  const YAML::Node map = c.node()["mapping"];
  if (!map || !map.IsMap() || map.size() == 0) return c.Fail("'mapping' must map values to numbers");
  std::unordered_map<std::string, double> mapping;
  for (const auto& entry : map) {
    FERRY_ASSIGN_OR_RETURN(auto key, c.Scalar(entry.first, "a mapped value"));
    FERRY_ASSIGN_OR_RETURN(auto text, c.Scalar(entry.second, "a mapping's number"));
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return c.Fail(entry.second, fmt::format("'mapping': '{}' must map to a number", key));
    }
    mapping[key] = number;
  }
  FERRY_ASSIGN_OR_RETURN(const auto fallback, c.OptionalNumber("default"));
  FERRY_ASSIGN_OR_RETURN(auto output, c.String("output", field));
  symbols.Define(output, Symbol{.tensor = false, .kind = ColumnKind::kNumber, .width = 1});
  return std::unique_ptr<Step>(new MapStep(c, {field, output}, std::move(mapping), fallback));
}

Result<std::unique_ptr<Step>> MakeBucketizeStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output", "boundaries"}));
  FERRY_ASSIGN_OR_RETURN(auto boundaries, c.Numbers("boundaries"));
  if (boundaries.empty() || !std::is_sorted(boundaries.begin(), boundaries.end()) ||
      std::adjacent_find(boundaries.begin(), boundaries.end()) != boundaries.end()) {
    return c.Fail("'boundaries' must be a non-empty list of increasing numbers");
  }
  FERRY_ASSIGN_OR_RETURN(auto io, NumericIo(c, symbols));
  // The bucket index: how many boundaries are <= x (numpy.digitize with right=False).
  return MakeNumeric(c, std::move(io), [b = std::move(boundaries)](double x) {
    if (std::isnan(x)) return x;
    return static_cast<double>(std::upper_bound(b.begin(), b.end(), x) - b.begin());
  });
}

Result<std::unique_ptr<Step>> MakeThresholdStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "output", "greater_than", "greater_or_equal", "less_than",
                                    "less_or_equal", "equals", "not_equals", "in"}));
  if (!c.Has("output")) return c.Fail("'output' is required: the name of the boolean it makes");
  FERRY_ASSIGN_OR_RETURN(auto condition, Condition::Parse(c));
  FERRY_ASSIGN_OR_RETURN(auto io, NumericIo(c, symbols, ColumnKind::kBool));
  return std::unique_ptr<Step>(new ThresholdStep(c, std::move(io), std::move(condition)));
}

}  // namespace ferry::pipeline
