// The steps at the edge between records and tensors: `record` (fields in, typed, with defaults),
// `validate` (rules a record must meet), `filter` (skip or reject records on a condition) and
// `tensor` (columns out into a model input tensor).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "pipeline/record_fields.h"
#include "pipeline/step_kinds.h"

namespace ferry::pipeline {
namespace {

using core::Result;

class RecordStep final : public Step {
 public:
  RecordStep(const StepConfig& c, std::vector<RecordField> fields)
      : Step(c.name(), c.kind()), fields_(std::move(fields)) {}
  const std::vector<RecordField>& fields() const { return fields_; }
  bool ChecksInput() const override { return true; }

  Result<void> Apply(Frame& frame) const override {
    if (frame.records.size() != frame.rows) {
      return core::InvalidArgument(fmt::format("step '{}' reads records; this request carries tensors", name()));
    }
    for (const auto& field : fields_) {
      frame.columns.insert_or_assign(field.name, field.type == FieldType::kString
                                                     ? Column::Strings(frame.rows)
                                                     : Column::Numbers(frame.rows, ColumnOf(field.type)));
      if (field.type == FieldType::kArray) {
        auto& column = frame.columns[field.name];
        column.width = field.width;
        column.numbers.assign(frame.rows * field.width, 0.0);
      }
    }
    std::vector<Column*> columns;
    for (const auto& field : fields_) columns.push_back(&frame.columns.find(field.name)->second);
    for (std::size_t row = 0; row < frame.rows; ++row) {
      for (std::size_t i = 0; i < fields_.size(); ++i) {
        if (!frame.Checkable(row)) break;  // every field of a record is checked, to report all at once
        const RecordField& field = fields_[i];
        Column& column = *columns[i];
        const Value* value = frame.records[row].Find(field.name, i);
        if (!value || value->kind == Value::Kind::kNull) {
          if (field.default_value) {
            value = &*field.default_value;
          } else if (field.required) {
            frame.RejectField(row, name(), field.name, fmt::format("field '{}' is missing", field.name));
            continue;
          } else {
            column.missing[row] = 1;
            if (column.IsNumeric()) column.numbers[row] = std::nan("");
            continue;
          }
        }
        if (auto error = Store(field, *value, column, row)) frame.RejectField(row, name(), field.name, std::move(*error));
      }
    }
    return {};
  }

 private:
  static ColumnKind ColumnOf(FieldType type) {
    switch (type) {
      case FieldType::kBoolean: return ColumnKind::kBool;
      case FieldType::kString: return ColumnKind::kString;
      case FieldType::kArray: return ColumnKind::kVector;
      default: return ColumnKind::kNumber;
    }
  }

  // Stores `value` into the column, or says why it does not fit the field.
  static std::optional<std::string> Store(const RecordField& field, const Value& value, Column& column,
                                          std::size_t row) {
    auto wrong = [&] {
      return fmt::format("field '{}' must be {}, got {}", field.name, FieldTypeName(field.type, true), KindName(value));
    };
    switch (field.type) {
      case FieldType::kNumber:
      case FieldType::kInteger:
        if (value.kind != Value::Kind::kNumber) return wrong();
        if (field.type == FieldType::kInteger && value.number != std::trunc(value.number)) {
          return fmt::format("field '{}' must be an integer, got {}", field.name, FormatNumber(value.number));
        }
        column.numbers[row] = value.number;
        return std::nullopt;
      case FieldType::kBoolean:
        if (value.kind != Value::Kind::kBool) return wrong();
        column.numbers[row] = value.boolean ? 1.0 : 0.0;
        return std::nullopt;
      case FieldType::kString:
        if (value.kind != Value::Kind::kString) return wrong();
        column.strings[row] = value.text;
        return std::nullopt;
      case FieldType::kArray:
        if (value.kind != Value::Kind::kArray || !value.numeric_array) return wrong();
        if (value.array.size() != field.width) {
          return fmt::format("field '{}' must hold {} numbers, got {}", field.name, field.width, value.array.size());
        }
        std::memcpy(column.numbers.data() + row * field.width, value.array.data(), field.width * sizeof(double));
        return std::nullopt;
    }
    return wrong();
  }

  std::vector<RecordField> fields_;
};

struct Rule {
  std::string field;
  bool required = false;
  std::optional<double> min, max;
  std::vector<std::string> allowed;
};

class ValidateStep final : public Step {
 public:
  ValidateStep(const StepConfig& c, std::vector<Rule> rules) : Step(c.name(), c.kind()), rules_(std::move(rules)) {}
  bool ChecksInput() const override { return true; }

  Result<void> Apply(Frame& frame) const override {
    for (const auto& rule : rules_) {
      const Column& column = frame.columns.find(rule.field)->second;
      for (std::size_t row = 0; row < frame.rows; ++row) {
        if (!frame.Checkable(row) || frame.HasProblem(row, rule.field)) continue;
        if (auto error = Check(rule, column, row)) frame.RejectField(row, name(), rule.field, std::move(*error));
      }
    }
    return {};
  }

 private:
  static std::optional<std::string> Check(const Rule& rule, const Column& column, std::size_t row) {
    if (column.missing[row]) {
      if (rule.required) return fmt::format("field '{}' is missing", rule.field);
      return std::nullopt;
    }
    if (column.IsNumeric()) {
      const double x = column.numbers[row];
      if ((rule.min || rule.max) && std::isnan(x)) return fmt::format("field '{}' is not a number", rule.field);
      if (rule.min && x < *rule.min) {
        return fmt::format("field '{}': {} is below the minimum {}", rule.field, FormatNumber(x),
                           FormatNumber(*rule.min));
      }
      if (rule.max && x > *rule.max) {
        return fmt::format("field '{}': {} is above the maximum {}", rule.field, FormatNumber(x),
                           FormatNumber(*rule.max));
      }
    }
    if (!rule.allowed.empty()) {
      const std::string text = column.IsNumeric() ? FormatNumber(column.numbers[row]) : column.strings[row];
      if (std::find(rule.allowed.begin(), rule.allowed.end(), text) == rule.allowed.end()) {
        return fmt::format("field '{}': '{}' is not one of the allowed values [{}]", rule.field, text,
                           fmt::join(rule.allowed, ", "));
      }
    }
    return std::nullopt;
  }

  std::vector<Rule> rules_;
};

class FilterStep final : public Step {
 public:
  FilterStep(const StepConfig& c, std::string field, Condition condition, bool reject, std::string reason)
      : Step(c.name(), c.kind()), field_(std::move(field)), condition_(std::move(condition)), reject_(reject),
        reason_(std::move(reason)) {}

  Result<void> Apply(Frame& frame) const override {
    const Column& column = frame.columns.find(field_)->second;
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (!frame.Live(row) || !condition_.Test(column, row)) continue;
      if (reject_) {
        frame.Reject(row, name(), reason_);
      } else {
        frame.Skip(row, name());
      }
    }
    return {};
  }

 private:
  std::string field_;
  Condition condition_;
  bool reject_;
  std::string reason_;
};

class TensorStep final : public Step {
 public:
  TensorStep(const StepConfig& c, std::string output, core::DataType type, std::vector<std::string> fields,
             std::vector<std::size_t> widths)
      : Step(c.name(), c.kind()), output_(std::move(output)), type_(type), fields_(std::move(fields)),
        widths_(std::move(widths)), width_(std::accumulate(widths_.begin(), widths_.end(), std::size_t{0})) {}

  Result<void> Apply(Frame& frame) const override {
    const auto rows = static_cast<std::int64_t>(frame.rows);
    FERRY_ASSIGN_OR_RETURN(auto tensor, core::Tensor::Allocate(output_, type_,
                                                               core::Shape{rows, static_cast<std::int64_t>(width_)}));
    switch (type_) {
      case core::DataType::kFp32: Fill<float>(frame, tensor); break;
      case core::DataType::kFp64: Fill<double>(frame, tensor); break;
      case core::DataType::kInt32: Fill<std::int32_t>(frame, tensor); break;
      case core::DataType::kInt64: Fill<std::int64_t>(frame, tensor); break;
      default: return core::Internal("tensor step: unsupported datatype");
    }
    frame.tensors.insert_or_assign(output_, std::move(tensor));
    return {};
  }

  core::TensorSpec spec() const {
    return {.name = output_, .type = type_, .shape = core::Shape{-1, static_cast<std::int64_t>(width_)}};
  }
  // The field each column is read from.
  std::vector<std::string> columns() const {
    std::vector<std::string> columns;
    for (std::size_t i = 0; i < fields_.size(); ++i) columns.insert(columns.end(), widths_[i], fields_[i]);
    return columns;
  }

 private:
  template <typename T>
  void Fill(Frame& frame, core::Tensor& tensor) const {
    auto out = tensor.values<T>();
    std::size_t column_offset = 0;
    for (const auto& field : fields_) {
      const Column& column = frame.columns.find(field)->second;
      const std::size_t w = column.kind == ColumnKind::kVector ? column.width : 1;
      for (std::size_t row = 0; row < frame.rows; ++row) {
        if (!frame.Live(row)) continue;
        if (column.missing[row]) {
          frame.Reject(row, name(), fmt::format("field '{}' is missing (no default, not imputed)", field));
          continue;
        }
        const double* in = column.numbers.data() + row * w;
        T* dst = out.data() + row * width_ + column_offset;
        for (std::size_t k = 0; k < w; ++k) dst[k] = static_cast<T>(in[k]);
      }
      column_offset += w;
    }
  }

  std::string output_;
  core::DataType type_;
  std::vector<std::string> fields_;
  std::vector<std::size_t> widths_;  // columns a field
  std::size_t width_;
};

}  // namespace

Result<std::unique_ptr<Step>> MakeRecordStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"fields"}));
  FERRY_ASSIGN_OR_RETURN(auto fields, ParseRecordFields(c));
  for (const auto& f : fields) {
    symbols.Define(f.name, Symbol{.tensor = false,
                                  .kind = f.type == FieldType::kBoolean  ? ColumnKind::kBool
                                          : f.type == FieldType::kString ? ColumnKind::kString
                                          : f.type == FieldType::kArray  ? ColumnKind::kVector
                                                                         : ColumnKind::kNumber,
                                  .width = f.type == FieldType::kArray ? f.width : 1});
  }
  return std::unique_ptr<Step>(new RecordStep(c, std::move(fields)));
}

const std::vector<RecordField>* RecordFieldsOf(const Step& step) {
  const auto* record = dynamic_cast<const RecordStep*>(&step);
  return record ? &record->fields() : nullptr;
}

Result<std::unique_ptr<Step>> MakeValidateStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"rules"}));
  const YAML::Node list = c.node()["rules"];
  if (!list || !list.IsSequence() || list.size() == 0) return c.Fail("'rules' must be a list of rules");
  std::vector<Rule> rules;
  for (const auto& item : list) {
    if (!item.IsMap()) return c.Fail(item, "each rule must be a map {field, required, min, max, allowed}");
    const StepConfig rc(item, "", c.name(), c.kind());
    auto fail = [&](std::string_view message) { return c.Fail(item, message); };
    for (const auto& entry : item) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
      if (key != "field" && key != "required" && key != "min" && key != "max" && key != "allowed") {
        return fail(fmt::format("unknown key '{}' in a rule (known: field, required, min, max, allowed)", key));
      }
    }
    Rule rule;
    auto field = rc.String("field");
    if (!field) return fail("a rule needs 'field'");
    rule.field = *field;
    FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, rule.field, false));
    if (symbol.tensor) return fail(fmt::format("'{}' is a tensor; rules apply to record fields", rule.field));
    if (item["required"]) {
      if (!item["required"].IsScalar() || (item["required"].Scalar() != "true" && item["required"].Scalar() != "false")) {
        return fail("'required' must be true or false");
      }
      rule.required = item["required"].Scalar() == "true";
    }
    auto min = rc.OptionalNumber("min");
    auto max = rc.OptionalNumber("max");
    if (!min || !max) return fail("'min' and 'max' must be numbers");
    rule.min = *min;
    rule.max = *max;
    if ((rule.min || rule.max) && symbol.kind != ColumnKind::kNumber && symbol.kind != ColumnKind::kBool) {
      return fail(fmt::format("'min'/'max' need a number field; '{}' is a {}", rule.field, ColumnKindName(symbol.kind)));
    }
    if (item["allowed"]) {
      auto allowed = rc.Strings("allowed");
      if (!allowed) return fail("'allowed' must be a list of values");
      rule.allowed = std::move(*allowed);
    }
    rules.push_back(std::move(rule));
  }
  return std::unique_ptr<Step>(new ValidateStep(c, std::move(rules)));
}

Result<std::unique_ptr<Step>> MakeFilterStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"field", "action", "reason", "greater_than", "greater_or_equal", "less_than",
                                    "less_or_equal", "equals", "not_equals", "in", "missing"}));
  FERRY_ASSIGN_OR_RETURN(auto field, c.String("field"));
  FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, field, false));
  if (symbol.tensor) return c.Fail(fmt::format("'{}' is a tensor; filter works on record fields", field));
  FERRY_ASSIGN_OR_RETURN(auto condition, Condition::Parse(c));
  FERRY_ASSIGN_OR_RETURN(auto action, c.String("action", "skip"));
  if (action != "skip" && action != "reject") return c.Fail("'action' must be skip or reject");
  FERRY_ASSIGN_OR_RETURN(auto reason,
                         c.String("reason", fmt::format("field '{}' {}", field, condition.ToString())));
  return std::unique_ptr<Step>(new FilterStep(c, field, std::move(condition), action == "reject", reason));
}

Result<std::unique_ptr<Step>> MakeTensorStep(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"output", "datatype", "fields"}));
  FERRY_ASSIGN_OR_RETURN(auto output, c.String("output"));
  FERRY_ASSIGN_OR_RETURN(auto type_name, c.String("datatype", "FP32"));
  const auto type = core::ParseDataType(type_name);
  if (!type || (*type != core::DataType::kFp32 && *type != core::DataType::kFp64 && *type != core::DataType::kInt32 &&
                *type != core::DataType::kInt64)) {
    return c.Fail(fmt::format("'datatype' must be FP32, FP64, INT32 or INT64, got '{}'", type_name));
  }
  FERRY_ASSIGN_OR_RETURN(auto fields, c.Strings("fields"));
  if (fields.empty()) return c.Fail("'fields' must name at least one field");
  std::vector<std::size_t> widths;
  for (const auto& field : fields) {
    FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, field, false));
    if (symbol.tensor) return c.Fail(fmt::format("'{}' is a tensor, not a field", field));
    if (symbol.kind == ColumnKind::kVector) {
      widths.push_back(symbol.width);
    } else if (symbol.kind == ColumnKind::kNumber || symbol.kind == ColumnKind::kBool) {
      widths.push_back(1);
    } else {
      return c.Fail(fmt::format("'{}' is a {} field; a tensor takes numbers (use map or one_hot first)", field,
                                ColumnKindName(symbol.kind)));
    }
  }
  const std::size_t width = std::accumulate(widths.begin(), widths.end(), std::size_t{0});
  symbols.Define(output, Symbol{.tensor = true, .kind = ColumnKind::kNumber, .width = width});
  return std::unique_ptr<Step>(new TensorStep(c, output, *type, std::move(fields), std::move(widths)));
}

std::optional<core::TensorSpec> TensorStepOutput(const Step& step) {
  const auto* tensor = dynamic_cast<const TensorStep*>(&step);
  if (!tensor) return std::nullopt;
  return tensor->spec();
}

std::vector<std::string> TensorStepColumns(const Step& step) {
  const auto* tensor = dynamic_cast<const TensorStep*>(&step);
  return tensor ? tensor->columns() : std::vector<std::string>{};
}

}  // namespace ferry::pipeline
