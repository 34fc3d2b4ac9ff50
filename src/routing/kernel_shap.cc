#include "routing/kernel_shap.h"

#include <Eigen/Dense>
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>

namespace ferry::routing {
namespace {

// The coalitions to value and their weights in the fit.
struct Coalitions {
  std::vector<std::uint8_t> masks;  // count x features, 1: the feature takes the instance's value
  std::vector<double> weights;
  std::size_t count = 0;
};

double Choose(std::size_t n, std::size_t k) {
  double c = 1;
  for (std::size_t i = 1; i <= k; ++i) c = c * static_cast<double>(n - k + i) / static_cast<double>(i);
  return c;
}

// Every coalition but the empty and the full one, weighted by the Shapley kernel, when there are
// at most `samples` of them; else `samples` drawn: a size with probability proportional to its
// kernel weight, then a subset of that size, each with its complement, all of weight 1.
Coalitions ChooseCoalitions(std::size_t m, std::size_t samples, std::uint64_t seed) {
  Coalitions c;
  const auto kernel = [m](std::size_t s) {
    return static_cast<double>(m - 1) / (static_cast<double>(s) * static_cast<double>(m - s));
  };
  if (m <= 20 && (std::size_t{1} << m) - 2 <= samples) {
    for (std::size_t bits = 1; bits + 1 < (std::size_t{1} << m); ++bits) {
      std::size_t size = 0;
      for (std::size_t j = 0; j < m; ++j) {
        const bool in = (bits >> j) & 1u;
        c.masks.push_back(in);
        size += in;
      }
      c.weights.push_back(kernel(size) / Choose(m, size));
      ++c.count;
    }
    return c;
  }
  std::vector<double> by_size(m - 1);
  for (std::size_t s = 1; s < m; ++s) by_size[s - 1] = kernel(s);
  std::mt19937_64 random(seed);
  std::discrete_distribution<std::size_t> size_of(by_size.begin(), by_size.end());
  std::vector<std::size_t> order(m);
  for (std::size_t pair = 0; pair < std::max<std::size_t>(samples / 2, 1); ++pair) {
    const std::size_t size = size_of(random) + 1;
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = 0; i < size; ++i) {  // the first `size` of a partial shuffle
      std::uniform_int_distribution<std::size_t> pick(i, m - 1);
      std::swap(order[i], order[pick(random)]);
    }
    const std::size_t at = c.masks.size();
    c.masks.resize(at + 2 * m, 0);
    for (std::size_t j = 0; j < m; ++j) c.masks[at + m + j] = 1;  // the complement: all but the subset
    for (std::size_t i = 0; i < size; ++i) {
      c.masks[at + order[i]] = 1;
      c.masks[at + m + order[i]] = 0;
    }
    c.weights.insert(c.weights.end(), {1.0, 1.0});
    c.count += 2;
  }
  return c;
}

// An output column to explain, and where its values land in the evaluations.
struct Column {
  std::string output;
  std::int64_t column = 0;
};

double ValueAt(const core::Tensor& t, std::size_t i) {
  return t.type() == core::DataType::kFp64 ? t.values<double>()[i] : static_cast<double>(t.values<float>()[i]);
}

}  // namespace

core::Result<core::Explanation> KernelShap(const Servable& model, const core::ModelSignature& signature,
                                           const core::InferenceRequest& request, const KernelShapOptions& options) {
  const auto fail = [&](std::string why) { return core::InvalidArgument(fmt::format("model '{}': {}", model.name(), why)); };
  if (request.inputs.size() != 1 || signature.inputs.size() != 1) {
    return fail("a model-agnostic explanation takes models of one input, a 2-D FP32 or FP64 tensor [rows, features]");
  }
  const core::Tensor& x = request.inputs.front();
  if (x.shape().rank() != 2 || (x.type() != core::DataType::kFp32 && x.type() != core::DataType::kFp64)) {
    return fail(fmt::format("input '{}' must be a 2-D FP32 or FP64 tensor [rows, features] to be explained", x.name()));
  }
  const auto rows = static_cast<std::size_t>(x.shape()[0]);
  const auto m = static_cast<std::size_t>(x.shape()[1]);
  const auto& background = options.background;
  if (background.empty()) {
    return fail("it has no exact explainer, and a model-agnostic explanation needs background rows: model.yaml "
                "explain: {rows: [[...], ...]}");
  }
  if (background.front().size() != m) {
    return fail(fmt::format("explain.rows have {} numbers, the input has {} features", background.front().size(), m));
  }
  if (options.samples < 1 || options.samples > options.limits.max_samples) {
    return fail(fmt::format("samples must be between 1 and {} (--explain-max-samples)", options.limits.max_samples));
  }
  std::vector<Column> columns;
  std::vector<std::string> outputs;
  for (const auto& spec : signature.outputs) {
    if (spec.type != core::DataType::kFp32 && spec.type != core::DataType::kFp64) continue;
    const auto dims = spec.shape.dims();
    const std::int64_t width = dims.size() >= 2 && dims.back() > 0 ? dims.back() : 1;
    for (std::int64_t k = 0; k < width; ++k) columns.push_back({spec.name, k});
    outputs.push_back(spec.name);
  }
  if (columns.empty()) return fail("it has no FP32 or FP64 output to explain");

  const Coalitions coalitions = m > 1 ? ChooseCoalitions(m, options.samples, options.seed) : Coalitions{};
  const std::size_t n = background.size(), c = coalitions.count;
  // Evaluations: the background rows, the instances, then per instance and coalition the
  // background rows with the coalition's features taken from the instance.
  const std::size_t total = n + rows + rows * c * n;
  if (total > options.limits.max_rows) {
    return fail(fmt::format("{} rows x {} coalitions x {} background rows is {} model rows, more than {} "
                            "(--explain-max-rows): fewer samples, background rows or rows", rows, c, n, total,
                            options.limits.max_rows));
  }
  const auto input_at = [&](std::size_t row, std::size_t j) { return ValueAt(x, row * m + j); };
  const auto evaluation_value = [&](std::size_t e, std::size_t j) -> double {
    if (e < n) return background[e][j];
    if (e < n + rows) return input_at(e - n, j);
    const std::size_t rest = e - n - rows, b = rest % n, coalition = (rest / n) % c, row = rest / n / c;
    return coalitions.masks[coalition * m + j] ? input_at(row, j) : background[b][j];
  };

  // Evaluate, in calls of `chunk` rows, several in flight, through the model's own scheduler.
  const std::size_t width = columns.size();
  std::vector<double> values(total * width);
  const std::size_t chunk = static_cast<std::size_t>(std::max<std::int64_t>(options.batch_rows, 1));
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t in_flight = 0;
  std::optional<core::Error> failure;
  for (std::size_t start = 0; start < total; start += chunk) {
    const std::size_t count = std::min(chunk, total - start);
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return in_flight < 8 || failure; });
      if (failure) break;
      ++in_flight;
    }
    auto tensor = core::Tensor::Allocate(x.name(), x.type(), core::Shape{static_cast<std::int64_t>(count),
                                                                          static_cast<std::int64_t>(m)});
    if (!tensor) {  // no memory for the call: stop, after the calls in flight have answered
      std::lock_guard lock(mutex);
      failure = tensor.error();
      --in_flight;
      break;
    }
    for (std::size_t i = 0; i < count; ++i) {
      for (std::size_t j = 0; j < m; ++j) {
        const double v = evaluation_value(start + i, j);
        if (x.type() == core::DataType::kFp64) {
          tensor->values<double>()[i * m + j] = v;
        } else {
          tensor->values<float>()[i * m + j] = static_cast<float>(v);
        }
      }
    }
    core::InferenceRequest call{.model_name = model.name(), .model_version = model.version(), .id = {},
                                .parameters = {}, .inputs = {}, .outputs = {}};
    call.inputs.push_back(std::move(*tensor));
    for (const auto& name : outputs) call.outputs.push_back({.name = name, .parameters = {}});
    model.Infer(std::move(call), CallContext::Explainer(), [&, start, count](core::Result<core::InferenceResponse> answer) {
      std::optional<core::Error> error;
      if (!answer) {
        error = answer.error();
      } else {
        std::size_t at = 0;  // the first column of the current output
        for (const auto& name : outputs) {
          const auto it = std::find_if(answer->outputs.begin(), answer->outputs.end(),
                                       [&](const core::Tensor& t) { return t.name() == name; });
          const std::size_t cols = static_cast<std::size_t>(
              std::count_if(columns.begin(), columns.end(), [&](const Column& col) { return col.output == name; }));
          if (it == answer->outputs.end() || static_cast<std::size_t>(it->element_count()) != count * cols) {
            error = core::Error{core::ErrorCode::kInternal, fmt::format("output '{}' did not come back whole", name)};
            break;
          }
          for (std::size_t i = 0; i < count; ++i) {
            for (std::size_t k = 0; k < cols; ++k) values[(start + i) * width + at + k] = ValueAt(*it, i * cols + k);
          }
          at += cols;
        }
      }
      std::lock_guard lock(mutex);
      if (error && !failure) failure = std::move(error);
      --in_flight;
      changed.notify_all();
    });
  }
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return in_flight == 0; });
  }
  if (failure) return std::unexpected(*failure);

  // The fit, with phi_m eliminated by the constraint: for coalition z, its value less phi_0 and
  // z_m * delta, against z_j - z_m for j < m. Its normal matrix is the same for every row.
  const std::size_t p = m - 1;
  Eigen::MatrixXd design(static_cast<Eigen::Index>(c), static_cast<Eigen::Index>(p));
  for (std::size_t z = 0; z < c; ++z) {
    for (std::size_t j = 0; j < p; ++j) {
      design(static_cast<Eigen::Index>(z), static_cast<Eigen::Index>(j)) =
          double(coalitions.masks[z * m + j]) - double(coalitions.masks[z * m + p]);
    }
  }
  const Eigen::Map<const Eigen::VectorXd> weights(coalitions.weights.data(), static_cast<Eigen::Index>(c));
  Eigen::LDLT<Eigen::MatrixXd> normal;
  if (m > 1) {
    normal.compute(design.transpose() * weights.asDiagonal() * design);
    if (normal.info() != Eigen::Success) return core::Internal("KernelSHAP: the coalitions' fit has no solution");
  }

  core::Explanation explanation{.method = "kernel_shap", .features = options.feature_names, .rows = static_cast<std::int64_t>(rows),
                                .outputs = {}, .additivity_error = 0};
  if (explanation.features.size() != m) {
    explanation.features.clear();
    for (std::size_t j = 0; j < m; ++j) explanation.features.push_back(fmt::format("x{}", j));
  }
  for (std::size_t k = 0; k < width; ++k) {
    core::OutputContributions out{.output = columns[k].output, .column = columns[k].column, .space = "identity",
                                  .base = {}, .values = {}, .interactions = {}};
    double expected = 0;
    for (std::size_t b = 0; b < n; ++b) expected += values[b * width + k];
    expected /= static_cast<double>(n);
    out.base.assign(rows, expected);
    out.values.resize(rows * m);
    for (std::size_t r = 0; r < rows; ++r) {
      const double delta = values[(n + r) * width + k] - expected;
      double* phi = out.values.data() + r * m;
      if (m == 1) {
        phi[0] = delta;
        continue;
      }
      Eigen::VectorXd target(static_cast<Eigen::Index>(c));
      for (std::size_t z = 0; z < c; ++z) {
        double v = 0;
        const std::size_t first = n + rows + (r * c + z) * n;
        for (std::size_t b = 0; b < n; ++b) v += values[(first + b) * width + k];
        target(static_cast<Eigen::Index>(z)) = v / static_cast<double>(n) - expected - coalitions.masks[z * m + p] * delta;
      }
      const Eigen::VectorXd solved = normal.solve(design.transpose() * (weights.asDiagonal() * target));
      double sum = 0;
      for (std::size_t j = 0; j < p; ++j) sum += phi[j] = solved(static_cast<Eigen::Index>(j));
      phi[p] = delta - sum;
    }
    for (std::size_t r = 0; r < rows; ++r) {
      explanation.additivity_error = std::max(
          explanation.additivity_error,
          std::abs(values[(n + r) * width + k] - explanation.Prediction(out, static_cast<std::int64_t>(r))));
    }
    explanation.outputs.push_back(std::move(out));
  }
  return explanation;
}

}  // namespace ferry::routing
