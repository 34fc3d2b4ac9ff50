// The built-in step kinds (besides `model`, model_step.h), one factory each. Internal to the
// pipeline library: configurations reach them through FindStepFactory (step.h).
#pragma once

#include "pipeline/step.h"

namespace ferry::pipeline {

// record_steps.cc: the record's fields in, checks, and tensors out.
core::Result<std::unique_ptr<Step>> MakeRecordStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeValidateStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeFilterStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeTensorStep(const StepConfig&, Symbols&);

// transform_steps.cc: feature engineering on named columns.
core::Result<std::unique_ptr<Step>> MakeStandardizeStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeMinMaxStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeLog1pStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeClipStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeImputeStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeOneHotStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeMapStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeBucketizeStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeThresholdStep(const StepConfig&, Symbols&);

// post_steps.cc: turning model outputs into answers.
core::Result<std::unique_ptr<Step>> MakeLabelStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeArgmaxStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeSoftmaxStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeTopKStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeRenameStep(const StepConfig&, Symbols&);
core::Result<std::unique_ptr<Step>> MakeSelectStep(const StepConfig&, Symbols&);

// Rows of a numeric column or tensor as doubles, `width` values a row.
struct NumericRows {
  std::size_t width = 1;
  std::vector<double> values;
  const double* Row(std::size_t row) const { return values.data() + row * width; }
};
core::Result<NumericRows> ReadNumeric(const Frame& frame, std::string_view name, std::string_view step);

}  // namespace ferry::pipeline
