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
#include "core/record.h"
#include "pipeline/step.h"

namespace ferry::pipeline {

using core::FieldType;
using core::FieldTypeName;
using core::RecordField;

core::Result<std::vector<RecordField>> ParseRecordFields(const StepConfig& config);

// The fields of a record step; null for any other step.
const std::vector<RecordField>* RecordFieldsOf(const Step& step);
// The tensor a tensor step makes; nullopt for any other step.
std::optional<core::TensorSpec> TensorStepOutput(const Step& step);
// The field each column of a tensor step's tensor is read from; empty for any other step.
std::vector<std::string> TensorStepColumns(const Step& step);

}  // namespace ferry::pipeline
