// PMML RegressionModel: regression tables as arrays of (slot, coefficient), normalized by the
// model's normalizationMethod.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numbers>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

enum class Normalization { kNone, kLogit, kSoftmax, kExp, kProbit, kCloglog, kLoglog, kCauchit, kSimplemax };

double Link(Normalization n, double y) {
  switch (n) {
    case Normalization::kLogit: return 1 / (1 + std::exp(-y));
    case Normalization::kExp: return std::exp(y);
    case Normalization::kProbit: return 0.5 * std::erfc(-y / std::numbers::sqrt2);
    case Normalization::kCloglog: return 1 - std::exp(-std::exp(y));
    case Normalization::kLoglog: return std::exp(-std::exp(-y));
    case Normalization::kCauchit: return 0.5 + std::atan(y) / std::numbers::pi;
    default: return y;
  }
}

struct Table {
  double intercept = 0;
  struct Numeric {
    std::size_t slot;
    double coefficient;
    int exponent;
  };
  struct Categorical {
    std::size_t slot;
    double value;
    double coefficient;
  };
  std::vector<Numeric> numeric;
  std::vector<Categorical> categorical;
  std::size_t category = 0;  // classification

  double Score(const double* v) const {
    double y = intercept;
    for (const auto& p : numeric) y += p.coefficient * (p.exponent == 1 ? v[p.slot] : std::pow(v[p.slot], p.exponent));
    for (const auto& p : categorical) y += v[p.slot] == p.value ? p.coefficient : 0.0;
    return y;
  }
};

class RegressionModel final : public Model {
 public:
  Normalization normalization = Normalization::kNone;
  std::vector<Table> tables;

  // Linear in the inputs (and in the sums of trees an earlier segment of a chain gives): the
  // score before the normalization, in its space.
  core::Result<ScoreSums> Sums(const SumContext& context) const override {
    ScoreSums sums;
    if (!classification) {
      if (normalization != Normalization::kNone && normalization != Normalization::kExp) {
        return core::Unimplemented("a regression RegressionModel with a normalizationMethod other than none or exp");
      }
      sums.space = normalization == Normalization::kExp ? "log" : "identity";
    } else if (normalization == Normalization::kLogit && tables.size() == 2) {
      sums.space = "logit";  // the first category's probability is the logistic of its table
    } else if (normalization == Normalization::kSoftmax) {
      sums.space = "margin";
    } else {
      return core::Unimplemented(
          "a classification RegressionModel other than a binary logit or a softmax");
    }
    for (const auto& t : tables) {
      if (!t.categorical.empty()) return core::Unimplemented("a RegressionModel with CategoricalPredictors");
      ScoreSum sum{.constant = t.intercept, .trees = {}, .linear = {}, .category = t.category};
      for (const auto& p : t.numeric) {
        const auto known = context.known.find(p.slot);
        if (p.exponent != 1) return core::Unimplemented("a NumericPredictor with an exponent");
        if (known != context.known.end()) {
          sum.Add(known->second, p.coefficient);
        } else if (p.slot < context.inputs) {
          sum.linear.push_back({p.slot, p.coefficient});
        } else {
          return core::Unimplemented("a NumericPredictor of a derived field");
        }
      }
      sums.columns.push_back(std::move(sum));
      if (classification && normalization == Normalization::kLogit) break;  // the second is 1 - the first
    }
    return sums;
  }

 protected:
  bool Score(double* v, double* y, double*) const override {
    if (!classification) {
      y[0] = Link(normalization, tables[0].Score(v));
      return !std::isnan(y[0]);
    }
    std::fill(y, y + categories, 0.0);
    const std::size_t k = tables.size();
    for (const auto& t : tables) {
      y[t.category] = t.Score(v);
      if (std::isnan(y[t.category])) return false;
    }
    if (normalization == Normalization::kSoftmax || normalization == Normalization::kSimplemax) {
      double top = -std::numeric_limits<double>::infinity();
      for (const auto& t : tables) top = std::max(top, y[t.category]);
      double sum = 0;
      for (const auto& t : tables) {
        double& p = y[t.category];
        if (normalization == Normalization::kSoftmax) p = std::exp(p - top);
        sum += p;
      }
      for (const auto& t : tables) y[t.category] /= sum;
    } else {
      // The first K-1 through the link; the last takes what is left (binary: the usual case).
      double sum = 0;
      for (std::size_t j = 0; j + 1 < k; ++j) sum += y[tables[j].category] = Link(normalization, y[tables[j].category]);
      y[tables[k - 1].category] = 1 - sum;
    }
    return true;
  }
};

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::Regression(const pugi::xml_node& e) {
  auto model = std::make_unique<RegressionModel>();
  FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  const std::string_view method = e.attribute("normalizationMethod").as_string("none");
  static constexpr std::pair<std::string_view, Normalization> kMethods[] = {
      {"none", Normalization::kNone},     {"logit", Normalization::kLogit},   {"softmax", Normalization::kSoftmax},
      {"exp", Normalization::kExp},       {"probit", Normalization::kProbit}, {"cloglog", Normalization::kCloglog},
      {"loglog", Normalization::kLoglog}, {"cauchit", Normalization::kCauchit},
      {"simplemax", Normalization::kSimplemax}};
  const auto* m = std::find_if(std::begin(kMethods), std::end(kMethods), [&](const auto& p) { return p.first == method; });
  if (m == std::end(kMethods)) return Fail(e, fmt::format("normalizationMethod '{}' is not supported", method));
  model->normalization = m->second;
  for (pugi::xml_node c : e.children()) {
    const std::string_view name = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(name)) continue;
    if (name != "RegressionTable") return Unsupported(c);
    Table t;
    t.intercept = c.attribute("intercept").as_double();
    if (model->classification) t.category = Category(c.attribute("targetCategory").as_string());
    for (pugi::xml_node p : c.children()) {
      const std::string_view kind = p.name();
      if (kind == "NumericPredictor") {
        FERRY_ASSIGN_OR_RETURN(const auto field, Field(p, p.attribute("name").as_string()));
        t.numeric.push_back({field.slot, p.attribute("coefficient").as_double(), p.attribute("exponent").as_int(1)});
      } else if (kind == "CategoricalPredictor") {
        FERRY_ASSIGN_OR_RETURN(const auto field, Field(p, p.attribute("name").as_string()));
        FERRY_ASSIGN_OR_RETURN(const double value, ValueFor(p, field, p.attribute("value").as_string()));
        t.categorical.push_back({field.slot, value, p.attribute("coefficient").as_double()});
      } else if (kind != "Extension") {
        return Unsupported(p);
      }
    }
    model->tables.push_back(std::move(t));
  }
  if (model->tables.empty()) return Fail(e, "has no RegressionTable");
  if (model->classification && model->tables.size() < 2) {
    return Fail(e, "a classification needs a RegressionTable per category");
  }
  if (!model->classification && model->tables.size() != 1) return Fail(e, "a regression has one RegressionTable");
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
