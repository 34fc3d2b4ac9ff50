#include "backends/python/python_step.h"

#include <fmt/format.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <filesystem>

#include "backends/python/interpreter.h"
#include "pipeline/step.h"

namespace ferry::backends::python {
namespace {

namespace py = pybind11;
using pipeline::Column;
using pipeline::ColumnKind;
using pipeline::Frame;

// A YAML value as Python: maps, lists, and scalars as numbers, booleans or strings.
py::object FromYaml(const YAML::Node& node) {
  if (node.IsMap()) {
    py::dict d;
    for (const auto& item : node) d[py::str(item.first.Scalar())] = FromYaml(item.second);
    return d;
  }
  if (node.IsSequence()) {
    py::list l;
    for (const auto& item : node) l.append(FromYaml(item));
    return l;
  }
  if (!node.IsScalar()) return py::none();
  const std::string& text = node.Scalar();
  if (node.Tag() != "!") {  // unquoted: a number or boolean when it reads as one
    if (text == "true" || text == "True") return py::bool_(true);
    if (text == "false" || text == "False") return py::bool_(false);
    char* end = nullptr;
    const double d = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) {
      if (d == std::floor(d) && text.find_first_of(".eE") == std::string::npos) return py::int_(static_cast<long long>(d));
      return py::float_(d);
    }
  }
  return py::str(text);
}

class PythonStep final : public pipeline::Step {
 public:
  PythonStep(std::string name, PyRef fn,
             std::vector<std::pair<std::string, ColumnKind>> outputs)
      : Step(std::move(name), "python"), fn_(std::move(fn)), outputs_(std::move(outputs)) {}

  core::Result<void> Apply(Frame& frame) const override {
    for (const auto& [out, kind] : outputs_) {
      if (!frame.columns.contains(out)) {
        Column c = kind == ColumnKind::kString ? Column::Strings(frame.rows) : Column::Numbers(frame.rows, kind);
        std::fill(c.missing.begin(), c.missing.end(), 1);
        frame.columns.emplace(out, std::move(c));
      }
    }
    py::gil_scoped_acquire gil;
    // The field names as Python strings once a frame, not once a record.
    std::vector<std::pair<py::str, const Column*>> fields;
    for (const auto& [name, column] : frame.columns) fields.emplace_back(py::str(name), &column);
    for (std::size_t row = 0; row < frame.rows; ++row) {
      if (!frame.Live(row)) continue;
      py::dict record;
      for (const auto& [key, column] : fields) record[key] = Read(*column, row);
      py::object result;
      try {
        result = (*fn_)(record);
      } catch (py::error_already_set& e) {
        frame.Reject(row, this->name(), DescribeException(e, fmt::format("pipeline step '{}'", this->name())));
        continue;
      }
      if (result.is_none()) {
        frame.Skip(row, this->name());
        continue;
      }
      if (!py::isinstance<py::dict>(result)) {
        frame.Reject(row, this->name(), fmt::format("the function returned a {}, not a dict or None",
                                                    py::type::of(result).attr("__name__").cast<std::string>()));
        continue;
      }
      for (auto [key, value] : result.cast<py::dict>()) {
        const std::string field = py::str(key).cast<std::string>();
        auto it = frame.columns.find(field);
        if (it == frame.columns.end()) {
          frame.Reject(row, this->name(), fmt::format("the function set '{}', which is neither a field nor one of "
                                                      "its declared outputs", field));
          break;
        }
        if (auto error = Write(it->second, row, value); !error.empty()) {
          frame.Reject(row, this->name(), fmt::format("'{}': {}", field, error));
          break;
        }
      }
    }
    return {};
  }

 private:
  static py::object Read(const Column& c, std::size_t row) {
    if (c.missing[row]) return py::none();
    switch (c.kind) {
      case ColumnKind::kNumber: return py::float_(c.numbers[row]);
      case ColumnKind::kBool: return py::bool_(c.numbers[row] != 0);
      case ColumnKind::kVector: {
        py::list l;
        for (std::size_t j = 0; j < c.width; ++j) l.append(c.numbers[row * c.width + j]);
        return l;
      }
      default: return py::str(c.strings[row]);
    }
  }

  // Sets row `row` of `c` from a Python value; an error message when the value does not fit.
  static std::string Write(Column& c, std::size_t row, py::handle value) {
    try {
      return Set(c, row, value);
    } catch (const std::exception&) {  // a cast that failed
      return c.kind == ColumnKind::kVector ? fmt::format("must be a list of {} numbers", c.width) : "must be a number";
    }
  }

  static std::string Set(Column& c, std::size_t row, py::handle value) {
    if (value.is_none()) {
      c.missing[row] = 1;
      return {};
    }
    c.missing[row] = 0;
    switch (c.kind) {
      case ColumnKind::kNumber:
      case ColumnKind::kBool:
        if (!py::isinstance<py::float_>(value) && !py::isinstance<py::int_>(value) &&
            !py::isinstance<py::bool_>(value) && !py::hasattr(value, "__float__")) {
          return fmt::format("must be a number, not a {}", py::type::of(value).attr("__name__").cast<std::string>());
        }
        c.numbers[row] = value.cast<double>();
        return {};
      case ColumnKind::kVector: {
        if (!py::isinstance<py::sequence>(value) || py::len(value) != c.width) {
          return fmt::format("must be a list of {} numbers", c.width);
        }
        std::size_t j = 0;
        for (py::handle item : value) c.numbers[row * c.width + j++] = item.cast<double>();
        return {};
      }
      default:
        c.strings[row] = py::str(value).cast<std::string>();
        return {};
    }
  }

  PyRef fn_;
  std::vector<std::pair<std::string, ColumnKind>> outputs_;
};

}  // namespace

core::Result<std::unique_ptr<pipeline::Step>> MakePythonStep(const pipeline::StepConfig& config,
                                                             pipeline::Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(config.OnlyKeys({"function", "config", "outputs"}));
  FERRY_ASSIGN_OR_RETURN(const std::string function, config.String("function"));
  const auto colon = function.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == function.size()) {
    return config.Fail(config.node()["function"], "'function' must be module:factory (steps:make_is_adult)");
  }
  std::vector<std::pair<std::string, ColumnKind>> outputs;
  if (const YAML::Node out = config.node()["outputs"]) {
    if (!out.IsMap()) return config.Fail(out, "'outputs' must map column names to number, boolean or string");
    for (const auto& item : out) {
      const std::string kind = item.second.IsScalar() ? item.second.Scalar() : "";
      const ColumnKind k = kind == "number" ? ColumnKind::kNumber : kind == "boolean" ? ColumnKind::kBool
                           : kind == "string" ? ColumnKind::kString : ColumnKind::kJson;
      if (k == ColumnKind::kJson) {
        return config.Fail(item.second, fmt::format("output '{}': '{}' is not number, boolean or string",
                                                    item.first.Scalar(), kind));
      }
      outputs.emplace_back(item.first.Scalar(), k);
    }
  }
  if (auto started = EnsureInterpreter(); !started) return std::unexpected(started.error());
  py::gil_scoped_acquire gil;
  PyRef fn;
  try {
    // The pipeline's folder first on sys.path, for its own modules, which are run afresh.
    std::error_code ec;
    const auto folder = std::filesystem::path(config.source()).parent_path();
    const std::string folder_text =
        !folder.empty() && std::filesystem::is_directory(folder, ec) ? std::filesystem::absolute(folder).string() : "";
    py::object factory = Runtime().attr("step_factory")(folder_text, function);
    py::object settings = config.Has("config") ? FromYaml(config.node()["config"]) : py::dict();
    py::object per_record = factory(settings);
    if (!PyCallable_Check(per_record.ptr())) {
      return config.Fail(fmt::format("{} returned a {}, not the per-record function", function,
                                     py::type::of(per_record).attr("__name__").cast<std::string>()));
    }
    fn.reset(new py::object(std::move(per_record)));
  } catch (py::error_already_set& e) {
    return config.Fail(config.node()["function"],
                       fmt::format("{}: {}", function, DescribeException(e, fmt::format("pipeline step '{}'", config.name()))));
  }
  for (const auto& [name, kind] : outputs) symbols.Define(name, {.tensor = false, .kind = kind, .width = 1});
  return std::unique_ptr<pipeline::Step>(new PythonStep(config.name(), std::move(fn), std::move(outputs)));
}

}  // namespace ferry::backends::python
