#include "backends/pmml/pmml_backend.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "backends/pmml/pmml_model.h"
#include "core/file.h"

namespace ferry::backends::pmml {
namespace {

namespace fs = std::filesystem;
using core::DataType;
using core::Result;
using core::Shape;

class PmmlInstance final : public BackendInstance {
 public:
  explicit PmmlInstance(const CompiledPmml& model) : model_(model) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes* times) override {
    const auto start = std::chrono::steady_clock::now();
    const core::Tensor& x = inputs.front();
    const auto rows = static_cast<std::size_t>(x.shape()[0]);
    const std::size_t k = model_.classification() ? model_.categories().size() : 1;
    in_.assign(x.values<float>().begin(), x.values<float>().end());
    out_.resize(rows * k);
    model_.Evaluate(in_.data(), rows, out_.data());
    std::vector<core::Tensor> result;
    for (const auto& name : outputs) {
      if (name == "label") {
        FERRY_ASSIGN_OR_RETURN(auto label, core::Tensor::Allocate("label", DataType::kInt64,
                                                                  Shape{static_cast<std::int64_t>(rows), 1}));
        for (std::size_t r = 0; r < rows; ++r) {
          const double* p = out_.data() + r * k;
          label.values<std::int64_t>()[r] = std::max_element(p, p + k) - p;
        }
        result.push_back(std::move(label));
      } else {
        FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(name, DataType::kFp32,
                                                              Shape{static_cast<std::int64_t>(rows),
                                                                    static_cast<std::int64_t>(k)}));
        std::transform(out_.begin(), out_.end(), t.values<float>().begin(), [](double d) { return static_cast<float>(d); });
        result.push_back(std::move(t));
      }
    }
    if (times) times->infer = std::chrono::steady_clock::now() - start;
    return result;
  }

 private:
  const CompiledPmml& model_;
  std::vector<double> in_, out_;  // reused across executions
};

class PmmlModel final : public BackendModel {
 public:
  explicit PmmlModel(std::unique_ptr<CompiledPmml> model) : model_(std::move(model)) {
    signature_.inputs.push_back(
        {"features", DataType::kFp32, Shape{-1, static_cast<std::int64_t>(model_->inputs().size())}});
    if (model_->classification()) {
      signature_.outputs.push_back(
          {"probability", DataType::kFp32, Shape{-1, static_cast<std::int64_t>(model_->categories().size())}});
      signature_.outputs.push_back({"label", DataType::kInt64, Shape{-1, 1}});
    } else {
      signature_.outputs.push_back({"prediction", DataType::kFp32, Shape{-1, 1}});
    }
  }
  const core::ModelSignature& signature() const override { return signature_; }
  std::string_view platform() const override { return "ferry_pmml"; }
  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    return std::unique_ptr<BackendInstance>(new PmmlInstance(*model_));
  }

 private:
  std::unique_ptr<CompiledPmml> model_;
  core::ModelSignature signature_;
};

class PmmlBackend final : public Backend {
 public:
  std::string_view name() const override { return "pmml"; }
  bool Recognizes(const fs::path& dir) const override {
    std::error_code ec;
    return fs::is_regular_file(dir / "model.pmml", ec);
  }
  Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    const fs::path file = options.version_dir / "model.pmml";
    FERRY_ASSIGN_OR_RETURN(const auto xml, core::ReadWholeFile(file));
    FERRY_ASSIGN_OR_RETURN(auto compiled, CompiledPmml::Compile(xml, "model.pmml"));
    spdlog::info("model '{}' version {}: PMML input columns [{}]{}", options.model_name, options.version,
                 fmt::join(compiled->inputs(), ", "),
                 compiled->classification() ? fmt::format(", probability columns [{}]", fmt::join(compiled->categories(), ", "))
                                            : std::string());
    return std::unique_ptr<BackendModel>(new PmmlModel(std::move(compiled)));
  }
};

}  // namespace

std::unique_ptr<Backend> CreatePmmlBackend() { return std::make_unique<PmmlBackend>(); }

}  // namespace ferry::backends::pmml
