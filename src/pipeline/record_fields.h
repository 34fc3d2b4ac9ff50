// The fields a pipeline's `record` step reads, as configured and as GET /v2/models/{m} describes
// them to clients:
//   fields:
//     preg: number                          # shorthand: required, no default
//     age:  {type: integer, required: true}
//     sex:  {type: string, default: "f"}    # a default makes a field optional
//     note: {type: string, required: false} # optional: missing stays missing (impute it later)
//     emb:  {type: array, width: 4}         # a fixed number of numbers
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/inference.h"
#include "pipeline/record.h"
#include "pipeline/step.h"

namespace ferry::pipeline {

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

core::Result<std::vector<RecordField>> ParseRecordFields(const StepConfig& config);

// The fields of a record step; null for any other step.
const std::vector<RecordField>* RecordFieldsOf(const Step& step);
// The tensor a tensor step makes; nullopt for any other step.
std::optional<core::TensorSpec> TensorStepOutput(const Step& step);

}  // namespace ferry::pipeline
