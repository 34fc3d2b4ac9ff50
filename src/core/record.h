// Record: one business record as a client sends it to /predict or an event carries it on a
// stream, {"preg": 2, "plas": 120, ...}, decoded from JSON (or any other encoding) into typed
// values; and RecordField, what a servable that takes records says of each field it reads
// (GET /v2/models/{m} lists them). Pipelines read records into columns (pipeline/record_steps);
// routers may read a field to route on it.
// Plain value types; not synchronized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::core {

struct Value {
  enum class Kind : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;           // kString
  std::vector<double> array;  // kArray: its elements, when all are numbers (else kind is kObject-like below)
  bool numeric_array = true;  // kArray: false when an element is not a number

  static Value Null() { return {}; }
  static Value Bool(bool b) { return {.kind = Kind::kBool, .boolean = b}; }
  static Value Number(double d) { return {.kind = Kind::kNumber, .number = d}; }
  static Value String(std::string s) { return {.kind = Kind::kString, .text = std::move(s)}; }
};

// "a number", "a string", ... for error messages.
std::string_view KindName(const Value& value);

class JsonWriter;

// The value as JSON. Objects and arrays that are not all numbers keep no content in a Value:
// they are written as null.
void WriteJson(const Value& value, JsonWriter& w);

struct Field {
  std::string name;
  Value value;
};

struct Record {
  std::vector<Field> fields;  // in the order sent

  // The value of `name`, or null when the record has no such field. `hint`: where to look first
  // (records of one stream usually list their fields in the same order).
  const Value* Find(std::string_view name, std::size_t hint = 0) const {
    if (hint < fields.size() && fields[hint].name == name) return &fields[hint].value;
    for (const auto& f : fields) {
      if (f.name == name) return &f.value;
    }
    return nullptr;
  }
};

enum class FieldType : std::uint8_t { kNumber, kInteger, kBoolean, kString, kArray };

// "number", "integer", ...; with `article`: "a number", "an integer", ...
std::string FieldTypeName(FieldType type, bool article = false);

struct RecordField {
  std::string name;
  FieldType type = FieldType::kNumber;
  bool required = true;
  std::optional<Value> default_value;
  std::size_t width = 0;  // kArray
};

// One problem of a record: the field and what is wrong with it ("must be a number, got a string").
struct FieldProblem {
  std::string field;
  std::string reason;  // the whole message, naming the field
};

}  // namespace ferry::core
