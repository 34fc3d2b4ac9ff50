#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "pipeline/step.h"

namespace ferry::pipeline {

std::unexpected<core::Error> StepConfig::Fail(const YAML::Node& at, std::string_view message) const {
  const auto mark = at.Mark();
  const int line = mark.is_null() ? node_.Mark().line + 1 : mark.line + 1;
  return core::InvalidArgument(fmt::format("{}:{}: step '{}' ({}): {}", source_, line, name_, kind_, message));
}

core::Result<void> StepConfig::OnlyKeys(std::initializer_list<std::string_view> known) const {
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) return Fail(entry.first, "keys must be names");
    const std::string& key = entry.first.Scalar();
    if (key == "name" || key == "kind") continue;
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Fail(entry.first, fmt::format("unknown key '{}' (known: {})", key, fmt::join(known, ", ")));
    }
  }
  return {};
}

core::Result<std::string> StepConfig::String(std::string_view key) const {
  const YAML::Node value = node_[std::string(key)];
  if (!value) return Fail(fmt::format("'{}' is required", key));
  if (!value.IsScalar()) return Fail(value, fmt::format("'{}' must be a string", key));
  return value.Scalar();
}

core::Result<std::string> StepConfig::String(std::string_view key, std::string_view fallback) const {
  if (!Has(key)) return std::string(fallback);
  return String(key);
}

namespace {

std::optional<double> ParseNumber(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

core::Result<double> StepConfig::Number(std::string_view key) const {
  const YAML::Node value = node_[std::string(key)];
  if (!value) return Fail(fmt::format("'{}' is required", key));
  std::optional<double> number;
  if (value.IsScalar()) number = ParseNumber(value.Scalar());
  if (!number) return Fail(value, fmt::format("'{}' must be a number", key));
  return *number;
}

core::Result<std::optional<double>> StepConfig::OptionalNumber(std::string_view key) const {
  if (!Has(key)) return std::optional<double>();
  FERRY_ASSIGN_OR_RETURN(double value, Number(key));
  return std::optional<double>(value);
}

core::Result<std::vector<std::string>> StepConfig::Strings(std::string_view key) const {
  const YAML::Node value = node_[std::string(key)];
  if (!value) return Fail(fmt::format("'{}' is required", key));
  if (!value.IsSequence()) return Fail(value, fmt::format("'{}' must be a list", key));
  std::vector<std::string> out;
  for (const auto& item : value) {
    FERRY_ASSIGN_OR_RETURN(auto text, Scalar(item, fmt::format("each entry of '{}'", key)));
    out.push_back(std::move(text));
  }
  return out;
}

core::Result<std::vector<double>> StepConfig::Numbers(std::string_view key) const {
  const YAML::Node value = node_[std::string(key)];
  if (!value) return Fail(fmt::format("'{}' is required", key));
  if (!value.IsSequence()) return Fail(value, fmt::format("'{}' must be a list of numbers", key));
  std::vector<double> out;
  for (const auto& item : value) {
    std::optional<double> number;
    if (item.IsScalar()) number = ParseNumber(item.Scalar());
    if (!number) return Fail(item, fmt::format("'{}' must be a list of numbers", key));
    out.push_back(*number);
  }
  return out;
}

core::Result<std::string> StepConfig::Scalar(const YAML::Node& node, std::string_view what) const {
  if (!node.IsScalar()) return Fail(node, fmt::format("{} must be a single value", what));
  return node.Scalar();
}

core::Result<Symbol> StepConfig::Use(const Symbols& symbols, std::string_view field, bool want_numeric) const {
  const Symbol* symbol = symbols.Find(field);
  if (!symbol) {
    if (symbols.open()) return Symbol{.tensor = true, .kind = ColumnKind::kNumber, .width = 0};
    std::vector<std::string> known;
    for (const auto& [name, _] : symbols.all()) known.push_back(name);
    return Fail(fmt::format("'{}' is not defined by an earlier step (defined: {})", field, fmt::join(known, ", ")));
  }
  if (want_numeric && !symbol->tensor && symbol->kind != ColumnKind::kNumber && symbol->kind != ColumnKind::kBool) {
    return Fail(fmt::format("'{}' is a {} field; this step needs a number", field, ColumnKindName(symbol->kind)));
  }
  return *symbol;
}

core::Result<Condition> Condition::Parse(const StepConfig& config) {
  static constexpr std::pair<std::string_view, Op> kOps[] = {
      {"greater_than", Op::kGreater}, {"greater_or_equal", Op::kGreaterOrEqual}, {"less_than", Op::kLess},
      {"less_or_equal", Op::kLessOrEqual}, {"equals", Op::kEqual}, {"not_equals", Op::kNotEqual},
      {"in", Op::kIn}, {"missing", Op::kMissing}};
  std::optional<Condition> found;
  for (const auto& [key, op] : kOps) {
    if (!config.Has(key)) continue;
    if (found) return config.Fail("give one comparison only (greater_than, less_than, equals, in, ...)");
    Condition c;
    c.op = op;
    if (op == Op::kIn) {
      FERRY_ASSIGN_OR_RETURN(c.values, config.Strings(key));
    } else if (op == Op::kMissing) {
      const YAML::Node value = config.node()["missing"];
      if (!value.IsScalar() || value.Scalar() != "true") return config.Fail(value, "'missing' can only be true");
    } else {
      FERRY_ASSIGN_OR_RETURN(c.value, config.Number(key));
    }
    found = std::move(c);
  }
  if (!found) {
    return config.Fail(
        "needs a comparison: greater_than, greater_or_equal, less_than, less_or_equal, equals, not_equals, in or "
        "missing");
  }
  return *found;
}

bool Condition::Test(const Column& column, std::size_t row) const {
  if (column.missing[row]) return op == Op::kMissing;
  if (op == Op::kMissing) return false;
  if (op == Op::kIn) {
    const std::string text = column.IsNumeric() ? FormatNumber(column.numbers[row]) : column.strings[row];
    return std::find(values.begin(), values.end(), text) != values.end();
  }
  if (!column.IsNumeric()) return false;
  const double x = column.numbers[row];
  switch (op) {
    case Op::kGreater: return x > value;
    case Op::kGreaterOrEqual: return x >= value;
    case Op::kLess: return x < value;
    case Op::kLessOrEqual: return x <= value;
    case Op::kEqual: return x == value;
    case Op::kNotEqual: return x != value;
    default: return false;
  }
}

std::string Condition::ToString() const {
  switch (op) {
    case Op::kGreater: return fmt::format("> {}", FormatNumber(value));
    case Op::kGreaterOrEqual: return fmt::format(">= {}", FormatNumber(value));
    case Op::kLess: return fmt::format("< {}", FormatNumber(value));
    case Op::kLessOrEqual: return fmt::format("<= {}", FormatNumber(value));
    case Op::kEqual: return fmt::format("== {}", FormatNumber(value));
    case Op::kNotEqual: return fmt::format("!= {}", FormatNumber(value));
    case Op::kIn: return fmt::format("in [{}]", fmt::join(values, ", "));
    case Op::kMissing: return "missing";
  }
  return "";
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

}  // namespace ferry::pipeline
