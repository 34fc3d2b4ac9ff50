// Explanation: feature contributions (SHAP values, Lundberg & Lee 2017) of a model's answer
// (docs/explain.md). For each explained output (one column of it), per row: a base value and one
// contribution per feature, which add up to the prediction in the output's space -- the model's
// raw score before its link function where it has one (log-odds for a logistic booster).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::core {

struct OutputContributions {
  std::string output;       // the output explained ("probability")
  std::int64_t column = 0;  // its column (a class of a multi-class output)
  // The space the contributions add up in: "identity" (the output itself), "logit" (log-odds:
  // the output is the logistic of the sum), "log" (the output is its exponential), "margin" (a
  // class score before softmax or another transform).
  std::string space = "identity";
  std::vector<double> base;    // per row
  std::vector<double> values;  // rows x features, row-major
  // SHAP interaction values when asked for: rows x features x features, row-major; [r][i][j] the
  // interaction of features i and j (the diagonal: i's main effect; a row of i sums to values[r][i]).
  std::vector<double> interactions;
};

struct Explanation {
  std::string model;          // the model version that answered
  std::int64_t version = 0;
  // Through a router: "<router>/<route>" (the route explained), or the ensemble's name (its
  // members' explanations combined as it combines their answers); empty otherwise.
  std::string route;
  // How the contributions were computed: "tree_shap" (exact, path-dependent TreeSHAP) or
  // "linear" (exact for a linear model: w * (x - reference)) or "kernel_shap" (model-agnostic).
  std::string method;
  std::vector<std::string> features;  // one name a column of the model's input
  std::int64_t rows = 0;
  std::vector<OutputContributions> outputs;
  // KernelSHAP: the largest |model answer - (base + sum of contributions)| over the rows and
  // outputs explained, the model's answer evaluated with the coalitions (the fit is constrained
  // to add up, so this is rounding); negative: not measured (exact explainers add up by
  // construction).
  double additivity_error = -1;

  // Row r's prediction in the output's space: its base value plus its contributions.
  double Prediction(const OutputContributions& o, std::int64_t r) const {
    double sum = o.base[static_cast<std::size_t>(r)];
    const std::size_t width = features.size();
    for (std::size_t j = 0; j < width; ++j) sum += o.values[static_cast<std::size_t>(r) * width + j];
    return sum;
  }
};

}  // namespace ferry::core
