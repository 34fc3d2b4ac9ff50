// The `python` pipeline step: a function of the user's applied to every live record.
//
//   - name: adult
//     kind: python
//     function: steps:make_is_adult   # module:factory; the pipeline's folder is on sys.path
//     config: {min_age: 18}           # given to the factory (default {})
//     outputs: {is_adult: boolean}    # the columns the function adds: number, boolean, string
//
// The factory is called once, when the pipeline loads (again when model.yaml changes), with the
// config as a dict; it returns the per-record function. That function gets the record as a dict
// of the columns so far (numbers, booleans, strings, lists for vectors, None when missing) and
// returns a dict of the columns to set (existing ones or its declared outputs), or None to skip
// the record. An exception rejects the record with the exception's type and message; the
// pipeline goes on with the others. model.yaml's `pre_transform` and `post_transform` are python
// steps too (pipeline.cc).
//
// The step runs in the python plugin (plugin.h): MakePythonStep is its "pipeline_step" entry point,
// and RegisterPythonStep, in the binary, registers a factory that opens the plugin on first use
// (a pipeline with a python step is UNAVAILABLE with the reason when the plugin is missing).
#pragma once

#include <memory>

#include "core/error.h"
#include "pipeline/step.h"

namespace ferry::backends::python {

// Registers the step kind `python` with the pipeline library (once, at start-up).
void RegisterPythonStep();

// The step for `config` (a pipeline::StepFactory), in the python plugin.
core::Result<std::unique_ptr<pipeline::Step>> MakePythonStep(const pipeline::StepConfig& config,
                                                             pipeline::Symbols& symbols);

}  // namespace ferry::backends::python
