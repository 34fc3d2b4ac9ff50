#include "pipeline/record_fields.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace ferry::pipeline {
namespace {

std::optional<FieldType> ParseFieldType(std::string_view name) {
  if (name == "number") return FieldType::kNumber;
  if (name == "integer") return FieldType::kInteger;
  if (name == "boolean") return FieldType::kBoolean;
  if (name == "string") return FieldType::kString;
  if (name == "array") return FieldType::kArray;
  return std::nullopt;
}

// A default written in YAML, as the value a record would carry.
std::optional<Value> DefaultValue(const YAML::Node& node, FieldType type) {
  if (!node.IsScalar()) return std::nullopt;
  const std::string& text = node.Scalar();
  switch (type) {
    case FieldType::kNumber:
    case FieldType::kInteger: {
      double d = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
      if (!std::isfinite(d) || (type == FieldType::kInteger && d != std::trunc(d))) return std::nullopt;
      return Value::Number(d);
    }
    case FieldType::kBoolean:
      if (text == "true") return Value::Bool(true);
      if (text == "false") return Value::Bool(false);
      return std::nullopt;
    case FieldType::kString: return Value::String(text);
    case FieldType::kArray: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

core::Result<std::vector<RecordField>> ParseRecordFields(const StepConfig& c) {
  const YAML::Node map = c.node()["fields"];
  if (!map || !map.IsMap() || map.size() == 0) {
    return c.Fail("'fields' must map each field name to its type (preg: number, sex: {type: string, ...})");
  }
  std::vector<RecordField> fields;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) return c.Fail(entry.first, "field names must be names");
    RecordField field;
    field.name = entry.first.Scalar();
    const YAML::Node spec = entry.second;
    // (yaml-cpp nodes are references: assigning one to another would overwrite the document.)
    const YAML::Node type_node = spec.IsMap() ? spec["type"] : spec;
    if (spec.IsMap()) {
      for (const auto& key : spec) {
        const std::string k = key.first.IsScalar() ? key.first.Scalar() : "";
        if (k != "type" && k != "required" && k != "default" && k != "width") {
          return c.Fail(key.first, fmt::format("field '{}': unknown key '{}' (known: type, required, default, width)",
                                               field.name, k));
        }
      }
      if (!type_node) return c.Fail(spec, fmt::format("field '{}' needs a 'type'", field.name));
    }
    const auto type = type_node.IsScalar() ? ParseFieldType(type_node.Scalar()) : std::nullopt;
    if (!type) {
      return c.Fail(type_node, fmt::format("field '{}': type must be number, integer, boolean, string or array",
                                           field.name));
    }
    field.type = *type;
    if (spec.IsMap()) {
      if (const YAML::Node d = spec["default"]) {
        field.default_value = DefaultValue(d, field.type);
        if (!field.default_value) {
          return c.Fail(d, fmt::format("field '{}': the default must be {}", field.name,
                                       FieldTypeName(field.type, true)));
        }
        field.required = false;
      }
      if (const YAML::Node r = spec["required"]) {
        if (!r.IsScalar() || (r.Scalar() != "true" && r.Scalar() != "false")) {
          return c.Fail(r, fmt::format("field '{}': 'required' must be true or false", field.name));
        }
        field.required = r.Scalar() == "true";
        if (field.required && field.default_value) {
          return c.Fail(r, fmt::format("field '{}' has a default, so it cannot be required", field.name));
        }
      }
      if (const YAML::Node w = spec["width"]) {
        int width = 0;
        const std::string text = w.IsScalar() ? w.Scalar() : "";
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), width);
        if (field.type != FieldType::kArray || ec != std::errc() || ptr != text.data() + text.size() || width < 1 ||
            width > 1 << 20) {
          return c.Fail(w, fmt::format("field '{}': 'width' is for array fields, a count of at least 1", field.name));
        }
        field.width = static_cast<std::size_t>(width);
      }
    }
    if (field.type == FieldType::kArray && field.width == 0) {
      return c.Fail(spec, fmt::format("field '{}': an array field needs its 'width'", field.name));
    }
    for (const auto& other : fields) {
      if (other.name == field.name) return c.Fail(entry.first, fmt::format("field '{}' is listed twice", field.name));
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

}  // namespace ferry::pipeline
