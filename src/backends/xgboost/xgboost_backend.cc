#include "backends/xgboost/xgboost_backend.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
#include <cstring>

#include "backends/model_files.h"
#include "backends/parameters.h"
#include "core/file.h"

namespace ferry::backends::xgboost {
namespace {

namespace fs = std::filesystem;
using core::DataType;
using core::Result;
using core::Shape;

enum class Kind { kRegression, kBinary, kSoftprob, kSoftmax };

// XGBoost's last error, its first line (the rest is a stack trace, for the log at most).
std::string LastError() {
  std::string_view error = XGBGetLastError();
  return std::string(error.substr(0, error.find('\n')));
}

std::unexpected<core::Error> XgbError(std::string_view what) {
  return core::InvalidArgument(fmt::format("{}: {}", what, LastError()));
}

struct BoosterDeleter {
  void operator()(void* booster) const { XGBoosterFree(booster); }
};
using Booster = std::unique_ptr<void, BoosterDeleter>;

struct MatrixDeleter {
  void operator()(void* matrix) const { XGDMatrixFree(matrix); }
};

Result<Booster> LoadBooster(const fs::path& file, const std::string& nthread) {
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) return XgbError("XGBoost");
  Booster booster(handle);
  if (XGBoosterLoadModel(handle, file.c_str()) != 0) return XgbError(fmt::format("{}", file.filename().string()));
  if (XGBoosterSetParam(handle, "nthread", nthread.c_str()) != 0) return XgbError("nthread");
  return booster;
}

struct Info {
  Kind kind = Kind::kRegression;
  std::int64_t features = 0;
  std::int64_t classes = 1;
  std::string objective;
};

Result<Info> Describe(void* booster) {
  Info info;
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(booster, &features) != 0) return XgbError("XGBoost");
  info.features = static_cast<std::int64_t>(features);
  bst_ulong length = 0;
  const char* config = nullptr;
  if (XGBoosterSaveJsonConfig(booster, &length, &config) != 0) return XgbError("XGBoost");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view objective, classes = "0";
  if (parser.parse(config, length).get(root) || root["learner"]["objective"]["name"].get(objective)) {
    return core::InvalidArgument("XGBoost: cannot read the booster's objective");
  }
  if (root["learner"]["learner_model_param"]["num_class"].get(classes)) classes = "0";
  info.objective = objective;
  std::int64_t k = 0;
  std::from_chars(classes.data(), classes.data() + classes.size(), k);
  if (objective == "binary:logistic") {
    info.kind = Kind::kBinary;
  } else if (objective == "multi:softprob") {
    info.kind = Kind::kSoftprob;
    info.classes = std::max<std::int64_t>(k, 1);
  } else if (objective == "multi:softmax") {
    info.kind = Kind::kSoftmax;
  }
  return info;
}

class XgbInstance final : public BackendInstance {
 public:
  XgbInstance(Booster booster, const Info& info) : booster_(std::move(booster)), info_(info) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes* times) override {
    const auto start = std::chrono::steady_clock::now();
    const core::Tensor& x = inputs.front();
    const auto rows = x.shape()[0];
    const std::string array = fmt::format(
        R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "<f4", "version": 3}})",
        reinterpret_cast<std::uintptr_t>(x.bytes().data()), rows, info_.features);
    static constexpr const char* kConfig =
        R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false, "missing": NaN, "cache_id": 0})";
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* result = nullptr;
    if (rows > 0 &&
        XGBoosterPredictFromDense(booster_.get(), array.c_str(), kConfig, nullptr, &shape, &dims, &result) != 0) {
      return core::Internal(fmt::format("XGBoost predict: {}", LastError()));
    }
    const std::int64_t width = info_.kind == Kind::kSoftprob ? info_.classes : 1;
    std::vector<core::Tensor> out;
    for (const auto& name : outputs) {
      if (name == "label") {
        FERRY_ASSIGN_OR_RETURN(auto label, core::Tensor::Allocate("label", DataType::kInt64, Shape{rows, 1}));
        for (std::int64_t r = 0; r < rows; ++r) {
          const float* v = result + r * width;
          label.values<std::int64_t>()[r] =
              info_.kind == Kind::kSoftprob ? static_cast<std::int64_t>(std::max_element(v, v + width) - v)
              : info_.kind == Kind::kBinary ? (v[0] > 0.5f ? 1 : 0)
                                            : static_cast<std::int64_t>(v[0]);
        }
        out.push_back(std::move(label));
      } else {
        FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(name, DataType::kFp32, Shape{rows, width}));
        if (rows > 0) std::memcpy(t.bytes().data(), result, t.byte_size());
        out.push_back(std::move(t));
      }
    }
    if (times) times->infer = std::chrono::steady_clock::now() - start;
    return out;
  }

 private:
  Booster booster_;
  const Info& info_;
};

class XgbModel final : public BackendModel {
 public:
  XgbModel(fs::path file, std::string nthread, Info info)
      : file_(std::move(file)), nthread_(std::move(nthread)), info_(std::move(info)) {
    signature_.inputs.push_back({"features", DataType::kFp32, Shape{-1, info_.features}});
    switch (info_.kind) {
      case Kind::kRegression: signature_.outputs.push_back({"prediction", DataType::kFp32, Shape{-1, 1}}); break;
      case Kind::kBinary:
        signature_.outputs.push_back({"probability", DataType::kFp32, Shape{-1, 1}});
        signature_.outputs.push_back({"label", DataType::kInt64, Shape{-1, 1}});
        break;
      case Kind::kSoftprob:
        signature_.outputs.push_back({"probability", DataType::kFp32, Shape{-1, info_.classes}});
        signature_.outputs.push_back({"label", DataType::kInt64, Shape{-1, 1}});
        break;
      case Kind::kSoftmax: signature_.outputs.push_back({"label", DataType::kInt64, Shape{-1, 1}}); break;
    }
  }
  const core::ModelSignature& signature() const override { return signature_; }
  std::string_view platform() const override { return "xgboost"; }
  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    FERRY_ASSIGN_OR_RETURN(auto booster, LoadBooster(file_, nthread_));
    return std::unique_ptr<BackendInstance>(new XgbInstance(std::move(booster), info_));
  }

  // libxgboost's own TreeSHAP (its contribution prediction, pred_contribs): per row and output
  // group, one contribution a feature and the bias last, in the booster's margin space.
  bool ExplainsExactly() const override { return true; }
  Result<core::Explanation> Explain(std::span<const core::Tensor> inputs) const override {
    return Contributions(inputs, false);
  }
  // libxgboost's interaction prediction (pred_interactions): per row and output group a
  // (features + 1)^2 matrix, the bias in the last row and column.
  Result<core::Explanation> ExplainInteractions(std::span<const core::Tensor> inputs) const override {
    return Contributions(inputs, true);
  }

 private:
  Result<core::Explanation> Contributions(std::span<const core::Tensor> inputs, bool interactions) const {
    // A booster of its own for this call (its answer lives in the booster until its next call).
    FERRY_ASSIGN_OR_RETURN(Booster borrowed, Borrow());
    struct GiveBack {
      const XgbModel& model;
      Booster& booster;
      ~GiveBack() {
        std::lock_guard lock(model.explain_mutex_);
        model.explainers_.push_back(std::move(booster));
      }
    } give_back{*this, borrowed};
    BoosterHandle booster = borrowed.get();
    const core::Tensor& x = inputs.front();
    const std::int64_t rows = x.shape()[0];
    core::Explanation explanation{.method = "tree_shap", .features = FeatureNames(booster), .rows = rows,
                                  .outputs = {}};
    const std::size_t width = explanation.features.size();
    const std::int64_t groups = info_.kind == Kind::kSoftprob || info_.kind == Kind::kSoftmax
                                    ? std::max<std::int64_t>(info_.classes, 1) : 1;
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* result = nullptr;
    std::unique_ptr<void, MatrixDeleter> matrix;
    if (rows > 0) {
      const std::string array = fmt::format(
          R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "<f4", "version": 3}})",
          reinterpret_cast<std::uintptr_t>(x.bytes().data()), rows, info_.features);
      // Contributions are not an in-place prediction: they go through a DMatrix over the input.
      DMatrixHandle handle = nullptr;
      if (XGDMatrixCreateFromDense(array.c_str(), R"({"missing": NaN, "nthread": 1})", &handle) != 0) {
        return core::Internal(fmt::format("XGBoost contributions: {}", LastError()));
      }
      matrix.reset(handle);  // freed once the answer is copied out
      // type 2: contributions, 4: interactions.
      static constexpr const char* kContributions =
          R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true})";
      static constexpr const char* kInteractions =
          R"({"type": 4, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true})";
      if (XGBoosterPredictFromDMatrix(booster, handle, interactions ? kInteractions : kContributions, &shape,
                                      &dims, &result) != 0) {
        return core::Internal(fmt::format("XGBoost contributions: {}", LastError()));
      }
      // strict_shape: (rows, groups, features + 1), or (rows, groups, features + 1, features + 1).
      const bst_ulong want = interactions ? 4 : 3;
      if (dims != want || shape[0] != static_cast<bst_ulong>(rows) || shape[2] != width + 1 ||
          (interactions && shape[3] != width + 1)) {
        return core::Internal(fmt::format("XGBoost contributions: an answer of {} dimensions, not (rows, groups, {}{})",
                                          dims, width + 1, interactions ? fmt::format(", {}", width + 1) : ""));
      }
    }
    const std::int64_t answered = rows > 0 ? static_cast<std::int64_t>(shape[1]) : groups;
    for (std::int64_t g = 0; g < answered; ++g) {
      core::OutputContributions out{.output = signature_.outputs.front().name, .column = g, .space = Space(),
                                    .base = {}, .values = {}, .interactions = {}};
      out.base.reserve(static_cast<std::size_t>(rows));
      out.values.reserve(static_cast<std::size_t>(rows) * width);
      const auto side = static_cast<std::int64_t>(width + 1);
      for (std::int64_t r = 0; r < rows; ++r) {
        if (!interactions) {
          const float* v = result + (r * answered + g) * side;
          out.values.insert(out.values.end(), v, v + width);
          out.base.push_back(v[width]);
          continue;
        }
        // A feature's contribution is its row of the matrix (bias column included); the base is
        // the bias's corner.
        const float* m = result + (r * answered + g) * side * side;
        for (std::size_t i = 0; i < width; ++i) {
          double sum = 0;
          for (std::size_t j = 0; j <= width; ++j) sum += m[i * (width + 1) + j];
          out.values.push_back(sum);
          out.interactions.insert(out.interactions.end(), m + i * (width + 1), m + i * (width + 1) + width);
        }
        out.base.push_back(m[width * (width + 1) + width]);
      }
      explanation.outputs.push_back(std::move(out));
    }
    return explanation;
  }

  // The space a booster's margin is in: what its objective applies to the sum of its trees.
  std::string Space() const {
    const std::string_view o = info_.objective;
    if (o == "binary:logistic" || o == "reg:logistic" || o == "binary:logitraw") return "logit";
    if (o == "count:poisson" || o == "reg:gamma" || o == "reg:tweedie" || o == "survival:cox") return "log";
    if (o.starts_with("reg:")) return "identity";
    return "margin";
  }

  // A booster for one explanation: a free one, else one loaded now (so several explanations run
  // at once; the boosters are kept for the next ones).
  Result<Booster> Borrow() const {
    {
      std::lock_guard lock(explain_mutex_);
      if (!explainers_.empty()) {
        Booster booster = std::move(explainers_.back());
        explainers_.pop_back();
        return booster;
      }
    }
    return LoadBooster(file_, nthread_);
  }

  // The booster's own feature names, else XGBoost's defaults (f0, f1, ...).
  std::vector<std::string> FeatureNames(BoosterHandle booster) const {
    std::vector<std::string> names;
    bst_ulong count = 0;
    const char** stored = nullptr;
    if (XGBoosterGetStrFeatureInfo(booster, "feature_name", &count, &stored) == 0 &&
        count == static_cast<bst_ulong>(info_.features)) {
      for (bst_ulong i = 0; i < count; ++i) names.emplace_back(stored[i]);
      return names;
    }
    for (std::int64_t i = 0; i < info_.features; ++i) names.push_back(fmt::format("f{}", i));
    return names;
  }

  fs::path file_;
  std::string nthread_;
  Info info_;
  core::ModelSignature signature_;
  mutable std::mutex explain_mutex_;
  mutable std::vector<Booster> explainers_;  // free boosters for explanations; under explain_mutex_
};

class XgbBackend final : public Backend {
 public:
  std::string_view name() const override { return "xgboost"; }

  std::string_view Files() const override { return kXgboostFiles; }
  bool Recognizes(const fs::path& dir) const override { return IsXgboostModel(dir); }

  Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    const auto file = options.model_file.empty() ? XgboostModelFile(options.version_dir) : options.model_file;
    if (!file) return core::NotFound(fmt::format("no {} in the version folder", kXgboostFiles));
    const std::string nthread = StringParameter(options, "nthread", "1");
    FERRY_ASSIGN_OR_RETURN(auto booster, LoadBooster(*file, nthread));
    FERRY_ASSIGN_OR_RETURN(auto info, Describe(booster.get()));
    if (info.features < 1) return core::InvalidArgument(fmt::format("{}: the booster has no feature", file->filename().string()));
    return std::unique_ptr<BackendModel>(new XgbModel(*file, nthread, std::move(info)));
  }
};

}  // namespace

std::unique_ptr<Backend> CreateXgboostBackend() { return std::make_unique<XgbBackend>(); }

}  // namespace ferry::backends::xgboost
