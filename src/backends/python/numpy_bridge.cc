#include "backends/python/numpy_bridge.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace ferry::backends::python {

namespace py = pybind11;
using core::DataType;

std::string_view NumpyType(DataType type) {
  switch (type) {
    case DataType::kBool: return "bool";
    case DataType::kUint8: return "uint8";
    case DataType::kUint16: return "uint16";
    case DataType::kUint32: return "uint32";
    case DataType::kUint64: return "uint64";
    case DataType::kInt8: return "int8";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kFp16: return "float16";
    case DataType::kFp32: return "float32";
    case DataType::kFp64: return "float64";
    default: return "";
  }
}

core::Result<DataType> FromNumpyType(std::string_view name) {
  for (DataType t : {DataType::kBool, DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
                     DataType::kInt8, DataType::kInt16, DataType::kInt32, DataType::kInt64, DataType::kFp16,
                     DataType::kFp32, DataType::kFp64}) {
    if (NumpyType(t) == name) return t;
  }
  if (name == "object" || name.starts_with("str") || name.starts_with("<U") || name.starts_with("bytes")) {
    return DataType::kBytes;
  }
  return core::InvalidArgument(fmt::format("numpy dtype '{}' has no KServe datatype", name));
}

py::array ToNumpy(const core::Tensor& t) {
  const auto dims = t.shape().dims();
  std::vector<py::ssize_t> shape(dims.begin(), dims.end());
  if (t.type() == DataType::kBytes) {
    py::list items;
    core::ForEachBytesElement(t.bytes(), [&](std::string_view s) { items.append(py::bytes(s.data(), s.size())); });
    py::tuple dims_tuple(shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) dims_tuple[i] = py::int_(shape[i]);
    py::array array = py::module_::import("numpy").attr("array")(items, py::arg("dtype") = "object");
    return array.attr("reshape")(dims_tuple);
  }
  // A view: the capsule base makes numpy leave the buffer alone; read-only so that a model cannot
  // write into the request.
  py::capsule base(t.bytes().data(), [](void*) {});
  py::array array(py::dtype(std::string(NumpyType(t.type()))), shape, t.bytes().data(), base);
  py::detail::array_proxy(array.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return array;
}

core::Result<core::Tensor> FromNumpy(const core::TensorSpec& spec, py::handle value) {
  py::module_ np = py::module_::import("numpy");
  py::array array = np.attr("asarray")(value);
  std::vector<std::int64_t> dims;
  for (py::ssize_t i = 0; i < array.ndim(); ++i) dims.push_back(array.shape(i));
  core::Shape shape(dims);
  if (shape.rank() + 1 == spec.shape.rank() && spec.shape.dims().back() == 1) {
    dims.push_back(1);
    shape = core::Shape(dims);
  }
  if (!shape.Matches(spec.shape)) {
    return core::Internal(fmt::format("output '{}' has shape {}, the model declares {}", spec.name, shape.ToString(),
                                      spec.shape.ToString()));
  }
  if (spec.type == DataType::kBytes) {
    std::vector<std::string> items;
    for (py::handle item : array.attr("ravel")()) {
      if (py::isinstance<py::bytes>(item)) {
        items.push_back(item.cast<std::string>());
      } else {
        items.push_back(py::str(item).cast<std::string>());
      }
    }
    std::size_t bytes = 0;
    for (const auto& s : items) bytes += 4 + s.size();
    auto tensor = core::Tensor::AllocateBytes(spec.name, DataType::kBytes, shape, bytes);
    std::byte* out = tensor.bytes().data();
    for (const auto& s : items) out += core::WriteBytesElement(out, s);
    return tensor;
  }
  const std::string_view dtype = NumpyType(spec.type);
  if (dtype.empty()) {
    return core::Internal(fmt::format("output '{}': {} has no numpy dtype", spec.name, core::DataTypeName(spec.type)));
  }
  py::array converted;
  try {
    converted = np.attr("ascontiguousarray")(array, py::arg("dtype") = std::string(dtype));
  } catch (py::error_already_set& e) {
    return core::Internal(fmt::format("output '{}' is not convertible to {}: {}", spec.name,
                                      core::DataTypeName(spec.type), e.what()));
  }
  FERRY_ASSIGN_OR_RETURN(auto tensor, core::Tensor::Allocate(spec.name, spec.type, shape));
  std::memcpy(tensor.bytes().data(), converted.data(), tensor.byte_size());
  return tensor;
}

core::Result<std::vector<core::Tensor>> OutputsFromPython(const core::ModelSignature& signature,
                                                          const py::object& out, std::span<const std::string> wanted,
                                                          std::string_view hook) {
  const auto& specs = signature.outputs;
  std::vector<core::Tensor> result;
  for (const auto& name : wanted) {
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
    if (spec == specs.end()) return core::Internal(fmt::format("no output '{}' in the signature", name));
    const auto index = static_cast<std::size_t>(spec - specs.begin());
    py::object value;
    if (py::isinstance<py::dict>(out)) {
      py::dict d = out;
      if (!d.contains(name)) return core::Internal(fmt::format("{} returned a dict without the output '{}'", hook, name));
      value = d[py::str(name)];
    } else if (specs.size() == 1) {
      value = out;
    } else if (py::isinstance<py::tuple>(out) || py::isinstance<py::list>(out)) {
      py::sequence s = out;
      if (index >= s.size()) {
        return core::Internal(fmt::format("{} returned {} values; no output '{}'", hook, s.size(), name));
      }
      value = s[index];
    } else {
      return core::Internal(fmt::format("{} returned a {}: a model with several outputs returns a dict", hook,
                                        py::str(py::type::of(out).attr("__name__")).cast<std::string>()));
    }
    FERRY_ASSIGN_OR_RETURN(auto tensor, FromNumpy(*spec, value));
    result.push_back(std::move(tensor));
  }
  return result;
}

}  // namespace ferry::backends::python
