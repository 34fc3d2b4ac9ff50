#include "backends/linear/linear_backend.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/file.h"

namespace ferry::backends::linear {
namespace {

namespace fs = std::filesystem;
using core::DataType;
using core::Result;
using core::Shape;

enum class Link { kIdentity, kLogistic, kSoftmax };

struct Coefficients {
  std::size_t outputs = 0;   // K
  std::size_t features = 0;  // F
  std::vector<float> weights;    // K x F, row-major
  std::vector<float> intercept;  // K
  Link link = Link::kIdentity;
  std::vector<std::string> feature_names;
};

Result<Coefficients> Parse(std::string_view json, const std::string& file) {
  auto fail = [&](std::string_view what) { return core::InvalidArgument(fmt::format("{}: {}", file, what)); };
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) {
    return fail(fmt::format("not valid JSON: {}", simdjson::error_message(error)));
  }
  Coefficients c;
  simdjson::dom::array rows;
  if (root["coefficients"].get(rows) || rows.size() == 0) {
    return fail("'coefficients' must be a non-empty list of rows of numbers");
  }
  for (simdjson::dom::element row : rows) {
    simdjson::dom::array values;
    if (row.get(values) || values.size() == 0) return fail("each row of 'coefficients' must be a list of numbers");
    if (c.features == 0) c.features = values.size();
    if (values.size() != c.features) {
      return fail(fmt::format("the rows of 'coefficients' must all have {} numbers; one has {}", c.features,
                              values.size()));
    }
    for (simdjson::dom::element v : values) {
      double d = 0;
      if (v.get(d) || !std::isfinite(d)) return fail("'coefficients' must hold finite numbers");
      c.weights.push_back(static_cast<float>(d));
    }
    ++c.outputs;
  }
  simdjson::dom::array intercept;
  if (root["intercept"].get(intercept)) {
    c.intercept.assign(c.outputs, 0.0f);
  } else {
    if (intercept.size() != c.outputs) {
      return fail(fmt::format("'intercept' must have one number a row of 'coefficients' ({}), has {}", c.outputs,
                              intercept.size()));
    }
    for (simdjson::dom::element v : intercept) {
      double d = 0;
      if (v.get(d) || !std::isfinite(d)) return fail("'intercept' must hold finite numbers");
      c.intercept.push_back(static_cast<float>(d));
    }
  }
  std::string_view link = "identity";
  if (auto l = root["link"]; !l.error() && l.get(link)) return fail("'link' must be a string");
  if (link == "identity") {
    c.link = Link::kIdentity;
  } else if (link == "logistic") {
    c.link = Link::kLogistic;
  } else if (link == "softmax") {
    c.link = Link::kSoftmax;
    if (c.outputs < 2) return fail("'softmax' needs at least two rows of coefficients (classes)");
  } else {
    return fail(fmt::format("'link' must be identity, logistic or softmax, not '{}'", link));
  }
  simdjson::dom::array names;
  if (!root["features"].get(names)) {
    for (simdjson::dom::element n : names) {
      std::string_view name;
      if (n.get(name)) return fail("'features' must be a list of names");
      c.feature_names.emplace_back(name);
    }
    if (c.feature_names.size() != c.features) {
      return fail(fmt::format("'features' names {} features but the coefficients have {}", c.feature_names.size(),
                              c.features));
    }
  }
  return c;
}

class LinearInstance final : public BackendInstance {
 public:
  explicit LinearInstance(const Coefficients& c) : c_(c) {}

  Result<std::vector<core::Tensor>> Execute(std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                                            core::ComputeTimes* times) override {
    const auto start = std::chrono::steady_clock::now();
    const core::Tensor& x = inputs.front();
    const auto rows = x.shape()[0];
    const auto in = x.values<float>();
    FERRY_ASSIGN_OR_RETURN(auto scores, core::Tensor::Allocate("scores", DataType::kFp32,
                                                               Shape{rows, static_cast<std::int64_t>(c_.outputs)}));
    auto out = scores.values<float>();
    const std::size_t F = c_.features, K = c_.outputs;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* row = in.data() + r * F;
      float* s = out.data() + r * K;
      for (std::size_t k = 0; k < K; ++k) {
        const float* w = c_.weights.data() + k * F;
        float z = c_.intercept[k];
        for (std::size_t f = 0; f < F; ++f) z += w[f] * row[f];
        s[k] = z;
      }
      if (c_.link == Link::kLogistic) {
        for (std::size_t k = 0; k < K; ++k) s[k] = 1.0f / (1.0f + std::exp(-s[k]));
      } else if (c_.link == Link::kSoftmax) {
        const float top = *std::max_element(s, s + K);
        float sum = 0;
        for (std::size_t k = 0; k < K; ++k) sum += s[k] = std::exp(s[k] - top);
        for (std::size_t k = 0; k < K; ++k) s[k] /= sum;
      }
    }
    std::vector<core::Tensor> result;
    for (const auto& name : outputs) {
      if (name == "label") {
        FERRY_ASSIGN_OR_RETURN(auto label, core::Tensor::Allocate("label", DataType::kInt64, Shape{rows, 1}));
        for (std::int64_t r = 0; r < rows; ++r) {
          const float* s = out.data() + r * K;
          label.values<std::int64_t>()[r] =
              K == 1 ? (s[0] > 0.5f ? 1 : 0) : static_cast<std::int64_t>(std::max_element(s, s + K) - s);
        }
        result.push_back(std::move(label));
      } else {
        FERRY_ASSIGN_OR_RETURN(auto copy, core::Tensor::FromRaw(name, DataType::kFp32, scores.shape(), scores.bytes()));
        result.push_back(std::move(copy));
      }
    }
    if (times) times->infer = std::chrono::steady_clock::now() - start;
    return result;
  }

 private:
  const Coefficients& c_;
};

class LinearModel final : public BackendModel {
 public:
  explicit LinearModel(Coefficients c) : c_(std::move(c)) {
    const auto F = static_cast<std::int64_t>(c_.features), K = static_cast<std::int64_t>(c_.outputs);
    signature_.inputs.push_back({"features", DataType::kFp32, Shape{-1, F}});
    if (c_.link == Link::kIdentity) {
      signature_.outputs.push_back({"prediction", DataType::kFp32, Shape{-1, K}});
    } else {
      signature_.outputs.push_back({"probability", DataType::kFp32, Shape{-1, K}});
      signature_.outputs.push_back({"label", DataType::kInt64, Shape{-1, 1}});
    }
  }
  const core::ModelSignature& signature() const override { return signature_; }
  std::string_view platform() const override { return "ferry_linear"; }
  Result<std::unique_ptr<BackendInstance>> CreateInstance() override {
    return std::unique_ptr<BackendInstance>(new LinearInstance(c_));
  }

  // Exact: each row's score is intercept + sum of w * x, so w * x is each feature's contribution
  // against an all-zero reference, and the intercept the base value; in the score's space (log-odds
  // for the logistic link, a class score before softmax).
  bool ExplainsExactly() const override { return true; }
  Result<core::Explanation> Explain(std::span<const core::Tensor> inputs) const override {
    const core::Tensor& x = inputs.front();
    const std::int64_t rows = x.shape()[0];
    const auto in = x.values<float>();
    const std::size_t F = c_.features;
    core::Explanation explanation{.method = "linear", .features = c_.feature_names, .rows = rows, .outputs = {}};
    if (explanation.features.empty()) {
      for (std::size_t f = 0; f < F; ++f) explanation.features.push_back(fmt::format("x{}", f));
    }
    const std::string space = c_.link == Link::kIdentity ? "identity" : c_.link == Link::kLogistic ? "logit" : "margin";
    for (std::size_t k = 0; k < c_.outputs; ++k) {
      core::OutputContributions out{.output = signature_.outputs.front().name, .column = static_cast<std::int64_t>(k),
                                    .space = space, .base = {}, .values = {}, .interactions = {}};
      out.base.assign(static_cast<std::size_t>(rows), c_.intercept[k]);
      out.values.resize(static_cast<std::size_t>(rows) * F);
      const float* w = c_.weights.data() + k * F;
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::size_t f = 0; f < F; ++f) {
          out.values[static_cast<std::size_t>(r) * F + f] = static_cast<double>(w[f]) * in[r * F + f];
        }
      }
      explanation.outputs.push_back(std::move(out));
    }
    return explanation;
  }

 private:
  Coefficients c_;
  core::ModelSignature signature_;
};

bool HasCoefficients(const fs::path& file) {
  auto text = core::ReadWholeFile(file);
  if (!text) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return !parser.parse(*text).get(root) && root.is_object() && !root["coefficients"].error();
}

class LinearBackend final : public Backend {
 public:
  std::string_view name() const override { return "linear"; }
  std::string_view Files() const override { return "model.json with coefficients"; }
  bool Recognizes(const fs::path& dir) const override { return HasCoefficients(dir / "model.json"); }
  Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    const fs::path file = options.version_dir / "model.json";
    FERRY_ASSIGN_OR_RETURN(const auto text, core::ReadWholeFile(file));
    FERRY_ASSIGN_OR_RETURN(auto coefficients, Parse(text, file.filename().string()));
    return std::unique_ptr<BackendModel>(new LinearModel(std::move(coefficients)));
  }
};

}  // namespace

std::unique_ptr<Backend> CreateLinearBackend() { return std::make_unique<LinearBackend>(); }

}  // namespace ferry::backends::linear
