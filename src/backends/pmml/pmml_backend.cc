#include "backends/pmml/pmml_backend.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "backends/pmml/pmml_model.h"
#include "core/file.h"

namespace ferry::backends::pmml {
namespace {

namespace fs = std::filesystem;
using core::DataType;
using core::Result;
using core::Shape;

// How requests give the active fields: one 2-D tensor `features` (columns), or one tensor a field
// named after it (fields; the only layout when a field holds strings).
enum class Layout { kColumns, kFields };

// The datatype of the numbers a document takes and answers: FP32 only when every numeric active
// field is a float, FP64 otherwise (ferry computes in double; a threshold such as
// 14.899999618530273 must meet the value the client sent, not its nearest float).
DataType NumberType(const CompiledPmml& model) {
  const auto& inputs = model.inputs();
  const bool floats = std::all_of(inputs.begin(), inputs.end(),
                                  [](const auto& in) { return in.is_string || in.data_type == "float"; });
  return floats && !inputs.empty() ? DataType::kFp32 : DataType::kFp64;
}

// model.yaml may choose FP32 or FP64 for a tensor of numbers (to match other models an ensemble
// or a client expects); anything else keeps ferry's choice (and the loader names the mismatch).
DataType Chosen(const std::vector<core::TensorSpec>& declared, std::string_view name, DataType fallback) {
  for (const auto& spec : declared) {
    if (spec.name == name && (spec.type == DataType::kFp32 || spec.type == DataType::kFp64)) return spec.type;
  }
  return fallback;
}

// The tensor type of a field in the fields layout, from its DataField dataType.
DataType FieldType(const CompiledPmml::Input& in) {
  if (in.is_string) return DataType::kBytes;
  if (in.data_type == "integer") return DataType::kInt64;
  if (in.data_type == "float") return DataType::kFp32;
  if (in.data_type == "boolean") return DataType::kBool;
  return DataType::kFp64;
}

// How a category is answered: its integer value when every category is an integer, else its name.
struct Labels {
  bool numeric = true;
  std::vector<std::int64_t> values;
  explicit Labels(const std::vector<std::string>& categories) {
    for (const auto& c : categories) {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(c.data(), c.data() + c.size(), v);
      numeric = numeric && !c.empty() && ec == std::errc() && end == c.data() + c.size();
      values.push_back(v);
    }
  }
  DataType type() const { return numeric ? DataType::kInt64 : DataType::kBytes; }
};

// The input rows as doubles, row-major, one column an active field (strings Encode()d).
Result<void> Gather(const CompiledPmml& model, Layout layout, std::span<const core::Tensor> inputs, std::size_t rows,
                    std::vector<double>& in) {
  const auto& fields = model.inputs();
  const std::size_t n = fields.size();
  in.resize(rows * n);
  if (layout == Layout::kColumns) {  // `features`, FP32 or FP64 as the signature says
    const core::Tensor& t = inputs.front();
    if (t.type() == DataType::kFp32) {
      const auto x = t.values<float>();
      std::copy(x.begin(), x.end(), in.begin());
    } else {
      const auto x = t.values<double>();
      std::copy(x.begin(), x.end(), in.begin());
    }
    return {};
  }
  for (std::size_t i = 0; i < n; ++i) {
    const core::Tensor& t = inputs[i];
    auto put = [&](auto span) {
      for (std::size_t r = 0; r < rows; ++r) in[r * n + i] = static_cast<double>(span[r]);
    };
    switch (t.type()) {
      case DataType::kFp32: put(t.values<float>()); break;
      case DataType::kFp64: put(t.values<double>()); break;
      case DataType::kInt64: put(t.values<std::int64_t>()); break;
      case DataType::kBool: put(t.values<std::uint8_t>()); break;
      case DataType::kBytes: {
        std::size_t r = 0;
        core::ForEachBytesElement(t.bytes(), [&](std::string_view s) {
          in[r++ * n + i] = s.empty() ? std::nan("") : model.Encode(s);
        });
        break;
      }
      default: return core::Internal(fmt::format("input '{}' has an unexpected type", t.name()));
    }
  }
  return {};
}

class PmmlInstance final : public BackendInstance {
 public:
  PmmlInstance(const CompiledPmml& model, Layout layout, const Labels& labels, const core::ModelSignature& signature)
      : model_(model), layout_(layout), labels_(labels), signature_(signature) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes* times) override {
    const auto start = std::chrono::steady_clock::now();
    const auto rows = static_cast<std::size_t>(inputs.front().shape()[0]);
    FERRY_RETURN_IF_ERROR(Gather(model_, layout_, inputs, rows, in_));
    const std::size_t w = model_.width();
    out_.resize(rows * w);
    FERRY_RETURN_IF_ERROR(model_.Evaluate(in_.data(), rows, out_.data()));
    const std::size_t k = model_.classification() ? model_.categories().size() : 1;
    std::vector<core::Tensor> result;
    for (const auto& name : outputs) {
      if (name == "label") {
        FERRY_ASSIGN_OR_RETURN(auto t, Categories("label", rows, [&](std::size_t r) -> std::ptrdiff_t {
          const double predicted = out_[r * w + k];  // the predicted category's index
          return std::isnan(predicted) ? -1 : static_cast<std::ptrdiff_t>(predicted);
        }));
        result.push_back(std::move(t));
        continue;
      }
      if (name == "prediction" || name == "probability") {
        FERRY_ASSIGN_OR_RETURN(auto t, Columns(name, rows, 0, k));
        result.push_back(std::move(t));
        continue;
      }
      const auto& fields = model_.outputs();
      const auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& o) { return o.name == name; });
      const std::size_t base = model_.classification() ? k + 1 : 1;  // after the prediction columns
      const std::size_t column = base + static_cast<std::size_t>(it - fields.begin());
      if (it->is_category) {
        FERRY_ASSIGN_OR_RETURN(auto t, Categories(name, rows, [&](std::size_t r) -> std::ptrdiff_t {
          const double v = out_[r * w + column];
          return std::isnan(v) ? -1 : static_cast<std::ptrdiff_t>(v);
        }));
        result.push_back(std::move(t));
      } else if (it->is_string) {
        result.push_back(Strings(name, rows, column));
      } else {
        FERRY_ASSIGN_OR_RETURN(auto t, Columns(name, rows, column, 1));
        result.push_back(std::move(t));
      }
    }
    if (times) times->infer = std::chrono::steady_clock::now() - start;
    return result;
  }

 private:
  // Output `name` (FP32 or FP64, as the signature says): `count` columns from `first`.
  Result<core::Tensor> Columns(const std::string& name, std::size_t rows, std::size_t first, std::size_t count) {
    const auto spec = std::find_if(signature_.outputs.begin(), signature_.outputs.end(),
                                   [&](const auto& o) { return o.name == name; });
    const DataType type = spec == signature_.outputs.end() ? DataType::kFp64 : spec->type;
    FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(name, type,
                                                          Shape{static_cast<std::int64_t>(rows),
                                                                static_cast<std::int64_t>(count)}));
    auto copy = [&](auto v) {
      using T = typename decltype(v)::value_type;
      const std::size_t w = model_.width();
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < count; ++j) v[r * count + j] = static_cast<T>(out_[r * w + first + j]);
      }
    };
    if (type == DataType::kFp32) {
      copy(t.values<float>());
    } else {
      copy(t.values<double>());
    }
    return t;
  }

  // A [rows, 1] BYTES output of strings (codes in `column`; "" for missing).
  core::Tensor Strings(const std::string& name, std::size_t rows, std::size_t column) {
    const std::size_t w = model_.width();
    std::size_t bytes = 0;
    for (std::size_t r = 0; r < rows; ++r) bytes += 4 + model_.Decode(out_[r * w + column]).size();
    auto t = core::Tensor::AllocateBytes(name, DataType::kBytes, Shape{static_cast<std::int64_t>(rows), 1}, bytes);
    std::byte* out = t.bytes().data();
    for (std::size_t r = 0; r < rows; ++r) out += core::WriteBytesElement(out, model_.Decode(out_[r * w + column]));
    return t;
  }

  // A [rows, 1] tensor of categories, `index(r)` giving row r's (-1: none, a null prediction:
  // -1 as INT64, "" as BYTES).
  template <typename Index>
  Result<core::Tensor> Categories(const std::string& name, std::size_t rows, Index index) {
    const Shape shape{static_cast<std::int64_t>(rows), 1};
    if (labels_.numeric) {
      FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(name, DataType::kInt64, shape));
      for (std::size_t r = 0; r < rows; ++r) {
        const std::ptrdiff_t i = index(r);
        t.values<std::int64_t>()[r] = i < 0 ? -1 : labels_.values[static_cast<std::size_t>(i)];
      }
      return t;
    }
    const auto& names = model_.categories();
    std::size_t bytes = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::ptrdiff_t i = index(r);
      bytes += 4 + (i < 0 ? 0 : names[static_cast<std::size_t>(i)].size());
    }
    auto t = core::Tensor::AllocateBytes(name, DataType::kBytes, shape, bytes);
    std::byte* out = t.bytes().data();
    for (std::size_t r = 0; r < rows; ++r) {
      const std::ptrdiff_t i = index(r);
      out += core::WriteBytesElement(out, i < 0 ? std::string_view() : names[static_cast<std::size_t>(i)]);
    }
    return t;
  }

  const CompiledPmml& model_;
  const Layout layout_;
  const Labels& labels_;
  const core::ModelSignature& signature_;
  std::vector<double> in_, out_;  // reused across executions
};

class PmmlModel final : public BackendModel {
 public:
  PmmlModel(std::unique_ptr<CompiledPmml> model, Layout layout, const core::ModelSignature& declared)
      : model_(std::move(model)), layout_(layout), labels_(model_->categories()) {
    const auto& inputs = model_->inputs();
    const DataType numbers = NumberType(*model_);
    if (layout_ == Layout::kColumns) {
      signature_.inputs.push_back({"features", Chosen(declared.inputs, "features", numbers),
                                   Shape{-1, static_cast<std::int64_t>(inputs.size())}});
    } else {
      // A numeric field may be declared FP32 or FP64 in model.yaml: so that an integer or boolean
      // field can be sent missing (NaN, or null in JSON).
      for (const auto& in : inputs) {
        const DataType type = in.is_string ? DataType::kBytes : Chosen(declared.inputs, in.name, FieldType(in));
        signature_.inputs.push_back({in.name, type, Shape{-1, 1}});
      }
    }
    auto number = [&](std::string_view name) { return Chosen(declared.outputs, name, numbers); };
    if (model_->classification()) {
      signature_.outputs.push_back(
          {"probability", number("probability"), Shape{-1, static_cast<std::int64_t>(model_->categories().size())}});
      signature_.outputs.push_back({"label", labels_.type(), Shape{-1, 1}});
    } else {
      signature_.outputs.push_back({"prediction", number("prediction"), Shape{-1, 1}});
    }
    for (const auto& o : model_->outputs()) {
      const DataType type = o.is_category ? labels_.type() : o.is_string ? DataType::kBytes : number(o.name);
      signature_.outputs.push_back({o.name, type, Shape{-1, 1}});
    }
  }
  const core::ModelSignature& signature() const override { return signature_; }
  std::string_view platform() const override { return "ferry_pmml"; }
  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    return std::unique_ptr<BackendInstance>(new PmmlInstance(*model_, layout_, labels_, signature_));
  }

  // ferry's own TreeSHAP or linear terms where the document allows (CompiledPmml::Explain); the
  // features are the active fields, whatever the input layout.
  bool ExplainsExactly() const override { return !model_->exact_method().empty(); }
  Result<core::Explanation> Explain(std::span<const core::Tensor> inputs) const override {
    const auto rows = static_cast<std::size_t>(inputs.front().shape()[0]);
    std::vector<double> in;
    FERRY_RETURN_IF_ERROR(Gather(*model_, layout_, inputs, rows, in));
    FERRY_ASSIGN_OR_RETURN(auto explained, model_->Explain(in.data(), rows));
    core::Explanation explanation{.method = model_->exact_method(), .features = {},
                                  .rows = static_cast<std::int64_t>(rows), .outputs = {}};
    for (const auto& field : model_->inputs()) explanation.features.push_back(field.name);
    for (auto& c : explained.columns) {
      explanation.outputs.push_back({.output = signature_.outputs.front().name,
                                     .column = static_cast<std::int64_t>(c.column), .space = explained.space,
                                     .base = std::move(c.base), .values = std::move(c.values), .interactions = {}});
    }
    return explanation;
  }

 private:
  std::unique_ptr<CompiledPmml> model_;
  Layout layout_;
  Labels labels_;
  core::ModelSignature signature_;
};

class PmmlBackend final : public Backend {
 public:
  std::string_view name() const override { return "pmml"; }
  std::string_view Files() const override { return "model.pmml"; }
  bool Recognizes(const fs::path& dir) const override {
    std::error_code ec;
    return fs::is_regular_file(dir / "model.pmml", ec);
  }
  Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    const fs::path file = options.version_dir / "model.pmml";
    FERRY_ASSIGN_OR_RETURN(const auto xml, core::ReadWholeFile(file));
    FERRY_ASSIGN_OR_RETURN(auto compiled, CompiledPmml::Compile(xml, "model.pmml"));
    const auto& inputs = compiled->inputs();
    const bool strings = std::any_of(inputs.begin(), inputs.end(), [](const auto& in) { return in.is_string; });
    Layout layout = strings ? Layout::kFields : Layout::kColumns;
    if (auto it = options.parameters.find("input_layout"); it != options.parameters.end()) {
      if (it->second == "fields") {
        layout = Layout::kFields;
      } else if (it->second != "columns") {
        return core::InvalidArgument(fmt::format("parameters.input_layout '{}' is not columns or fields", it->second));
      } else if (strings) {
        return core::InvalidArgument("parameters.input_layout columns: the model has string fields, which need "
                                     "input_layout fields (one BYTES tensor a field)");
      } else {
        layout = Layout::kColumns;
      }
    }
    for (const auto& o : compiled->outputs()) {
      if (o.name == "prediction" || o.name == "probability" || o.name == "label") {
        return core::InvalidArgument(fmt::format("model.pmml: the OutputField '{}' has the name of one of ferry's "
                                                 "outputs (prediction, probability, label)", o.name));
      }
    }
    std::vector<std::string> names;
    for (const auto& in : inputs) names.push_back(in.name);
    spdlog::info("model '{}' version {}: PMML {} [{}]{}; explained by {}", options.model_name, options.version,
                 layout == Layout::kColumns ? "input columns of 'features'" : "input tensors", fmt::join(names, ", "),
                 compiled->classification()
                     ? fmt::format(", probability columns [{}]", fmt::join(compiled->categories(), ", "))
                     : std::string(),
                 compiled->exact_method().empty() ? fmt::format("KernelSHAP (no exact explainer: {})",
                                                                compiled->no_exact_reason())
                                                  : compiled->exact_method());
    return std::unique_ptr<BackendModel>(new PmmlModel(std::move(compiled), layout, options.declared));
  }
};

}  // namespace

std::unique_ptr<Backend> CreatePmmlBackend() { return std::make_unique<PmmlBackend>(); }

}  // namespace ferry::backends::pmml
