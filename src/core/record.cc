#include "core/record.h"

#include "core/json_writer.h"

namespace ferry::core {

void WriteJson(const Value& value, JsonWriter& w) {
  switch (value.kind) {
    case Value::Kind::kBool: w.Bool(value.boolean); break;
    case Value::Kind::kNumber: w.Number(value.number); break;
    case Value::Kind::kString: w.String(value.text); break;
    case Value::Kind::kArray:
      if (!value.numeric_array) {
        w.Null();
        break;
      }
      w.BeginArray();
      for (double d : value.array) w.Number(d);
      w.EndArray();
      break;
    case Value::Kind::kNull:
    case Value::Kind::kObject: w.Null(); break;
  }
}

std::string_view KindName(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kBool: return "a boolean";
    case Value::Kind::kNumber: return "a number";
    case Value::Kind::kString: return "a string";
    case Value::Kind::kArray: return value.numeric_array ? "an array of numbers" : "an array";
    case Value::Kind::kObject: return "an object";
  }
  return "a value";
}

std::string FieldTypeName(FieldType type, bool article) {
  switch (type) {
    case FieldType::kNumber: return article ? "a number" : "number";
    case FieldType::kInteger: return article ? "an integer" : "integer";
    case FieldType::kBoolean: return article ? "a boolean" : "boolean";
    case FieldType::kString: return article ? "a string" : "string";
    case FieldType::kArray: return article ? "an array of numbers" : "array";
  }
  return "value";
}

}  // namespace ferry::core
