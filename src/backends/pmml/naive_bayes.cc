// PMML NaiveBayesModel: a category's score is ln(its BayesOutput count) plus, for each BayesInput
// whose value is not missing, the log of P(value | category):
//   - a continuous input (TargetValueStats): its GaussianDistribution's density (or Poisson's
//     probability), raised to the model's threshold when below it;
//   - a discrete input (PairCounts; optionally a DerivedField Discretize of the field first): the
//     count for the category over the sum of the input's counts for it, the threshold for a count
//     of zero; a value no PairCounts names, or a category its PairCounts omit, adds nothing.
// The probabilities are the scores' softmax (the sums are kept as logs: no underflow).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

struct Continuous {
  std::size_t category;
  bool poisson = false;
  double mean = 0, variance = 1;
};

struct Discrete {
  double value;  // the PairCounts value
  std::vector<std::pair<std::size_t, double>> log_probability;  // (category, ln P)
};

struct BayesInput {
  Expr value;  // the field, or its Discretize
  std::vector<Continuous> stats;
  std::vector<Discrete> pairs;
};

class NaiveBayesModel final : public Model {
 public:
  double log_threshold = -std::numeric_limits<double>::infinity();
  std::vector<std::pair<std::size_t, double>> log_priors;  // (category, ln count)
  std::vector<BayesInput> inputs;

 protected:
  bool Score(double* v, double* y, double*) const override {
    std::fill(y, y + categories, -std::numeric_limits<double>::infinity());
    for (const auto& [category, prior] : log_priors) y[category] = prior;
    for (const BayesInput& in : inputs) {
      const double x = Eval(in.value, v);
      if (std::isnan(x)) continue;  // missing values are ignored
      for (const Continuous& s : in.stats) {
        double lp;
        if (s.poisson) {
          lp = x * std::log(s.mean) - s.mean - std::lgamma(x + 1);
        } else {
          const double d = x - s.mean;
          lp = -0.5 * std::log(2 * std::numbers::pi * s.variance) - d * d / (2 * s.variance);
        }
        y[s.category] += std::max(lp, log_threshold);
      }
      for (const Discrete& pair : in.pairs) {
        if (pair.value != x) continue;
        for (const auto& [category, lp] : pair.log_probability) y[category] += lp;
        break;
      }
    }
    const double top = *std::max_element(y, y + categories);
    if (!std::isfinite(top)) return false;
    double sum = 0;
    for (std::size_t j = 0; j < categories; ++j) sum += y[j] = std::exp(y[j] - top);
    for (std::size_t j = 0; j < categories; ++j) y[j] /= sum;
    return true;
  }
};

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::NaiveBayes(const pugi::xml_node& e) {
  auto model = std::make_unique<NaiveBayesModel>();
  FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  if (!model->classification) return Fail(e, "a NaiveBayesModel is a classification");
  if (!e.attribute("threshold")) return Fail(e, "a NaiveBayesModel needs a threshold");
  const double threshold = e.attribute("threshold").as_double();
  if (threshold > 0) model->log_threshold = std::log(threshold);
  const pugi::xml_node output = e.child("BayesOutput");
  if (!output) return Fail(e, "has no BayesOutput");
  for (pugi::xml_node count : output.child("TargetValueCounts").children("TargetValueCount")) {
    const double n = count.attribute("count").as_double(0);
    if (!(n > 0)) return Fail(count, "a BayesOutput count must be positive");
    model->log_priors.emplace_back(Category(count.attribute("value").as_string()), std::log(n));
  }
  if (model->log_priors.empty()) return Fail(output, "has no TargetValueCount");
  // BayesInputs, including those an older exporter (R's pmml) wraps in an Extension.
  std::vector<pugi::xml_node> bayes_inputs;
  for (pugi::xml_node c : e.child("BayesInputs").children()) {
    if (std::string_view(c.name()) == "BayesInput") bayes_inputs.push_back(c);
    if (std::string_view(c.name()) == "Extension") {
      for (pugi::xml_node inner : c.children("BayesInput")) bayes_inputs.push_back(inner);
    }
  }
  for (const pugi::xml_node& b : bayes_inputs) {
    BayesInput input;
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(b, b.attribute("fieldName").as_string()));
    bool strings = field.is_string;
    input.value = Expr{.op = Expr::Op::kField, .field = field.slot};
    if (auto derived = b.child("DerivedField")) {
      const pugi::xml_node discretize = derived.child("Discretize");
      if (!discretize) return Fail(derived, "a BayesInput's DerivedField must be a Discretize");
      FERRY_ASSIGN_OR_RETURN(input.value, Expression(discretize));
      strings = input.value.strings;
    }
    for (pugi::xml_node stat : b.child("TargetValueStats").children("TargetValueStat")) {
      Continuous s{.category = Category(stat.attribute("value").as_string())};
      if (auto gauss = stat.child("GaussianDistribution")) {
        s.mean = gauss.attribute("mean").as_double();
        s.variance = gauss.attribute("variance").as_double();
        if (!(s.variance > 0)) return Fail(gauss, "variance must be positive");
      } else if (auto poisson = stat.child("PoissonDistribution")) {
        s.poisson = true;
        s.mean = poisson.attribute("mean").as_double();
        if (!(s.mean > 0)) return Fail(poisson, "mean must be positive");
      } else {
        return Fail(stat, "needs a GaussianDistribution or a PoissonDistribution");
      }
      input.stats.push_back(s);
    }
    // Each category's total over the input's PairCounts: the denominators.
    std::vector<double> sums;
    for (pugi::xml_node pair : b.children("PairCounts")) {
      for (pugi::xml_node count : pair.child("TargetValueCounts").children("TargetValueCount")) {
        const std::size_t category = Category(count.attribute("value").as_string());
        if (category >= sums.size()) sums.resize(category + 1, 0.0);
        sums[category] += count.attribute("count").as_double(0);
      }
    }
    for (pugi::xml_node pair : b.children("PairCounts")) {
      Discrete d;
      const FieldInfo value_info{field.slot, strings};
      FERRY_ASSIGN_OR_RETURN(d.value, ValueFor(pair, value_info, pair.attribute("value").as_string()));
      for (pugi::xml_node count : pair.child("TargetValueCounts").children("TargetValueCount")) {
        const std::size_t category = Category(count.attribute("value").as_string());
        const double n = count.attribute("count").as_double(0);
        const double p = n == 0 ? threshold : n / sums[category];
        d.log_probability.emplace_back(category, std::log(p));
      }
      input.pairs.push_back(std::move(d));
    }
    if (input.stats.empty() && input.pairs.empty()) return Fail(b, "has no TargetValueStats and no PairCounts");
    model->inputs.push_back(std::move(input));
  }
  if (model->inputs.empty()) return Fail(e, "has no BayesInput");
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
