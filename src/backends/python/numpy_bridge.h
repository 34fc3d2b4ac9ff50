// Tensors to numpy arrays and back (GIL held). Fixed-size tensors become read-only views of the
// tensor's buffer, with no copy: they are valid while the tensor lives, that is during the call
// they are passed to (Python code that keeps one must copy it). BYTES tensors become object
// arrays of `bytes`. Arrays coming back are copied into ferry's tensors (converted to the
// declared datatype).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/inference.h"
#include "core/tensor.h"

namespace ferry::backends::python {

pybind11::array ToNumpy(const core::Tensor& tensor);

// What Python returned for the output `spec` (a numpy array, or anything numpy.asarray takes) as a
// tensor of spec's datatype. Its shape must fit spec's; a 1-D result for a declared [-1, 1] is
// taken as one column. Errors name the output.
core::Result<core::Tensor> FromNumpy(const core::TensorSpec& spec, pybind11::handle value);

// The `wanted` outputs of `signature` from what Python code (`hook`, for errors) returned: a dict
// by name, one array for a signature with one output, or a tuple/list in the declared order.
core::Result<std::vector<core::Tensor>> OutputsFromPython(const core::ModelSignature& signature,
                                                          const pybind11::object& out,
                                                          std::span<const std::string> wanted, std::string_view hook);

// The numpy dtype name of a datatype ("float32"), or empty when numpy has none (BF16, BYTES).
std::string_view NumpyType(core::DataType type);

// The datatype of a numpy dtype (its name, "float64"); BYTES for object, str and bytes dtypes.
core::Result<core::DataType> FromNumpyType(std::string_view name);

}  // namespace ferry::backends::python
