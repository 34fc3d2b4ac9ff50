// PMML GeneralRegressionModel: the design row X (one value a Parameter: the product of its PPMatrix
// cells -- a factor's cell 1 when the factor has the cell's value, else 0; a covariate's cell the
// covariate raised to the cell's value, 1 by default; a parameter without cells, the intercept,
// 1) and the ParamMatrix's betas give each linear predictor eta = sum beta_p X_p (+ offset).
//   regression, generalLinear   the prediction is eta;
//   generalizedLinear           the inverse link of eta (+ offset), times the trials; as a binary
//                               classification (R's binomial glm), the probability of the category
//                               that is not the reference one;
//   multinomialLogistic         eta by targetCategory, 0 for the reference one, then softmax;
//   ordinalMultinomial          F(theta_k + eta) = P(Y <= k) for the categories in order (theta_k
//                               the PCells of category k, the slopes shared), F the cumulativeLink;
//                               P(k) the differences.
// standardError (regression, generalLinear, generalizedLinear with a PCovMatrix): the linear
// predictor's sqrt(x' C x), times |d mean / d eta| and the trials for a generalizedLinear (R's
// predict(se.fit = TRUE, type = "response")).
//   CoxRegression               the cumulative hazard at the endTimeVariable's time t:
//                               H0(t) exp(eta - sum beta_p referencePoint_p), H0(t) the cumHazard
//                               of the last BaselineCell not after t (0 before the first; no
//                               prediction after maxTime), from the BaselineStratum of the
//                               baselineStrataVariable's value when there is one (none: no
//                               prediction). Survival is exp(-H), a transformedValue's business.
// A factor with a contrast matrix (its Predictor's Matrix over its Categories) gives a cell the
// matrix entry at (the row's value, the cell's value) instead of 1 or 0.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <iterator>
#include <numbers>
#include <vector>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

enum class Type : std::uint8_t { kLinear, kGeneralized, kMultinomial, kOrdinal, kCox };
enum class Link : std::uint8_t {
  kIdentity, kLog, kLogit, kProbit, kCloglog, kLoglog, kCauchit, kPower, kOddspower, kNegbin, kInverse
};

constexpr std::pair<std::string_view, Link> kLinks[] = {
    {"identity", Link::kIdentity}, {"log", Link::kLog},         {"logit", Link::kLogit},
    {"probit", Link::kProbit},     {"cloglog", Link::kCloglog}, {"loglog", Link::kLoglog},
    {"cauchit", Link::kCauchit},   {"power", Link::kPower},     {"oddspower", Link::kOddspower},
    {"negbin", Link::kNegbin},     {"inverse", Link::kInverse}};

// The mean for a linear predictor: the link's inverse (a = linkParameter).
double InverseLink(Link link, double eta, double a) {
  switch (link) {
    case Link::kIdentity: return eta;
    case Link::kLog: return std::exp(eta);
    case Link::kLogit: return 1 / (1 + std::exp(-eta));
    case Link::kProbit: return 0.5 * std::erfc(-eta / std::numbers::sqrt2);
    case Link::kCloglog: return 1 - std::exp(-std::exp(eta));
    case Link::kLoglog: return std::exp(-std::exp(-eta));
    case Link::kCauchit: return 0.5 + std::atan(eta) / std::numbers::pi;
    case Link::kPower: return a == 0 ? std::exp(eta) : std::pow(eta, 1 / a);
    case Link::kOddspower: {
      if (a == 0) return 1 / (1 + std::exp(-eta));
      const double t = std::pow(1 + a * eta, 1 / a);
      return t / (1 + t);
    }
    case Link::kNegbin: return 1 / (a * (std::exp(-eta) - 1));
    case Link::kInverse: return 1 / eta;
  }
  return eta;
}

// d InverseLink / d eta.
double InverseLinkSlope(Link link, double eta, double a) {
  switch (link) {
    case Link::kIdentity: return 1;
    case Link::kLog: return std::exp(eta);
    case Link::kLogit: {
      const double mu = 1 / (1 + std::exp(-eta));
      return mu * (1 - mu);
    }
    case Link::kProbit: return std::exp(-eta * eta / 2) / std::sqrt(2 * std::numbers::pi);
    case Link::kCloglog: return std::exp(eta - std::exp(eta));
    case Link::kLoglog: return std::exp(-eta - std::exp(-eta));
    case Link::kCauchit: return 1 / (std::numbers::pi * (1 + eta * eta));
    case Link::kPower: return a == 0 ? std::exp(eta) : std::pow(eta, 1 / a - 1) / a;
    case Link::kOddspower: {
      if (a == 0) return InverseLinkSlope(Link::kLogit, eta, a);
      const double t = std::pow(1 + a * eta, 1 / a);
      return std::pow(1 + a * eta, 1 / a - 1) / ((1 + t) * (1 + t));
    }
    case Link::kNegbin: {
      const double e = std::exp(-eta);
      return e / (a * (e - 1) * (e - 1));
    }
    case Link::kInverse: return -1 / (eta * eta);
  }
  return 1;
}

struct Cell {
  std::size_t slot;
  bool factor = false;
  double value = 1;  // a factor's level, or a covariate's exponent
  // A factor's contrast matrix column for this cell's level: (the field's value, the entry).
  std::vector<std::pair<double, double>> contrast;

  // The cell's factor for a row whose field holds `field` (not missing); NaN for a value the
  // contrast matrix does not know.
  double Of(double field) const {
    if (!factor) return value == 1 ? field : std::pow(field, value);
    if (contrast.empty()) return field == value ? 1.0 : 0.0;
    for (const auto& [level, entry] : contrast) {
      if (level == field) return entry;
    }
    return kMissing;
  }
};

// A Cox model's baseline cumulative hazard: (time, cumHazard) by time, up to max_time.
struct Baseline {
  std::vector<std::pair<double, double>> cells;
  double max_time = 0;
};

class GeneralRegressionModel final : public Model {
 public:
  Type type = Type::kLinear;
  Link link = Link::kIdentity;
  double link_parameter = 1;
  double offset = 0, trials = 1;
  std::ptrdiff_t offset_slot = -1, trials_slot = -1;
  std::vector<std::vector<Cell>> parameters;  // each parameter's cells (empty: 1)
  // Betas by category (regression: one row), one a parameter; a missing cell is 0.
  std::vector<std::pair<std::size_t, std::vector<double>>> betas;
  std::vector<double> shared;          // ordinal: the slopes of cells without a targetCategory
  std::vector<std::size_t> order;      // ordinal: the categories in order
  std::size_t reference = 0;           // multinomial
  std::vector<double> covariance;      // PCovMatrix, parameters x parameters (empty: none)
  // Cox: the time field, the strata field (-1: none) and their baselines (by the stratum's
  // value; one without strata), and sum beta_p referencePoint_p.
  std::size_t end_time_slot = 0;
  std::ptrdiff_t strata_slot = -1;
  std::vector<std::pair<double, Baseline>> baselines;
  double reference_point = 0;

  // The design row, then the linear predictor and the trials (standardError reads them).
  std::size_t scratch_size() const override { return parameters.size() + 2; }
  bool Gives(OutputField::Feature feature) const override {
    return feature == OutputField::Feature::kStandardError && !covariance.empty() && type != Type::kCox;
  }
  double Feature(const OutputField&, const double*, const double* scratch) const override {
    const std::size_t n = parameters.size();
    const double* x = scratch;
    double variance = 0;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) variance += x[i] * covariance[i * n + j] * x[j];
    }
    double se = std::sqrt(variance) * std::abs(rescale_factor);
    if (type == Type::kGeneralized) se *= std::abs(InverseLinkSlope(link, scratch[n], link_parameter)) * scratch[n + 1];
    return se;
  }

  // Linear in the inputs when every parameter is the intercept or one covariate to the power 1:
  // a regression's or generalized linear model's eta (in its link's space: identity, log, logit),
  // a multinomial logistic's eta by category (margins before the softmax).
  core::Result<ScoreSums> Sums(const SumContext& context) const override {
    if (offset_slot >= 0 || trials_slot >= 0 || trials != 1) {
      return core::Unimplemented("a GeneralRegressionModel with an offset or trials field");
    }
    ScoreSums sums;
    if (type == Type::kLinear) {
      sums.space = "identity";
    } else if (type == Type::kGeneralized && (link == Link::kIdentity || link == Link::kLog || link == Link::kLogit)) {
      sums.space = link == Link::kIdentity ? "identity" : link == Link::kLog ? "log" : "logit";
    } else if (type == Type::kMultinomial) {
      sums.space = "margin";
    } else {
      return core::Unimplemented("a GeneralRegressionModel other than a linear, a generalized linear of link "
                                 "identity, log or logit, or a multinomial logistic");
    }
    if (classification && type != Type::kMultinomial) {
      return core::Unimplemented("a classification GeneralRegressionModel other than a multinomial logistic");
    }
    for (const auto& [category, beta] : betas) {
      ScoreSum sum{.constant = offset, .trees = {}, .linear = {}, .category = category};
      for (std::size_t p = 0; p < beta.size() && p < parameters.size(); ++p) {
        const auto& cells = parameters[p];
        if (cells.empty()) {
          sum.constant += beta[p];  // the intercept
          continue;
        }
        const Cell& c = cells.front();
        if (cells.size() != 1 || c.factor || c.value != 1) {
          return core::Unimplemented("a GeneralRegressionModel with factors, interactions or powers of covariates");
        }
        if (const auto known = context.known.find(c.slot); known != context.known.end()) {
          sum.Add(known->second, beta[p]);
        } else if (c.slot < context.inputs) {
          sum.linear.push_back({c.slot, beta[p]});
        } else {
          return core::Unimplemented("a GeneralRegressionModel of a derived field");
        }
      }
      sums.columns.push_back(std::move(sum));
    }
    if (type == Type::kMultinomial) {  // the reference category's margin is 0
      sums.columns.push_back(ScoreSum{.constant = 0, .trees = {}, .linear = {}, .category = reference});
    }
    return sums;
  }

 protected:
  bool Score(double* v, double* y, double* scratch) const override {
    double* x = scratch;
    for (std::size_t p = 0; p < parameters.size(); ++p) {
      double value = 1;
      for (const Cell& c : parameters[p]) {
        const double field = v[c.slot];
        if (std::isnan(field)) return false;  // a missing predictor: no prediction
        value *= c.Of(field);
        if (std::isnan(value)) return false;   // a level the contrast matrix does not know
      }
      x[p] = value;
    }
    double off = offset;
    if (offset_slot >= 0) {
      off = v[offset_slot];
      if (std::isnan(off)) return false;
    }
    auto eta = [&](const std::vector<double>& beta) {
      double sum = 0;
      for (std::size_t p = 0; p < beta.size(); ++p) sum += beta[p] * x[p];
      return sum;
    };
    switch (type) {
      case Type::kCox: return Cox(v, eta(betas[0].second), y);
      case Type::kLinear: y[0] = x[parameters.size()] = eta(betas[0].second) + off; return true;
      case Type::kGeneralized: {
        if (classification) {  // binary: the modelled category's probability, the reference's the rest
          const double p = InverseLink(link, eta(betas[0].second) + off, link_parameter);
          std::fill(y, y + categories, 0.0);
          y[betas[0].first] = p;
          y[reference] = 1 - p;
          return true;
        }
        double n = trials;
        if (trials_slot >= 0) {
          n = v[trials_slot];
          if (std::isnan(n)) return false;
        }
        x[parameters.size()] = eta(betas[0].second) + off;
        x[parameters.size() + 1] = n;
        y[0] = InverseLink(link, x[parameters.size()], link_parameter) * n;
        return true;
      }
      case Type::kMultinomial: {
        std::fill(y, y + categories, -std::numeric_limits<double>::infinity());
        y[reference] = 0;
        for (const auto& [category, beta] : betas) y[category] = eta(beta) + off;
        const double top = *std::max_element(y, y + categories);
        double sum = 0;
        for (std::size_t j = 0; j < categories; ++j) sum += y[j] = std::exp(y[j] - top);
        for (std::size_t j = 0; j < categories; ++j) y[j] /= sum;
        return true;
      }
      case Type::kOrdinal: {
        std::fill(y, y + categories, 0.0);
        const double slope = eta(shared) + off;
        double below = 0;
        for (std::size_t k = 0; k < order.size(); ++k) {
          double cumulative = 1;
          if (k + 1 < order.size()) {
            const auto it =
                std::find_if(betas.begin(), betas.end(), [&](const auto& b) { return b.first == order[k]; });
            cumulative = InverseLink(link, eta(it->second) + slope, link_parameter);
          }
          y[order[k]] = cumulative - below;
          below = cumulative;
        }
        return true;
      }
    }
    return false;
  }

 private:
  bool Cox(const double* v, double eta, double* y) const {
    const double t = v[end_time_slot];
    if (std::isnan(t)) return false;
    const Baseline* baseline = &baselines.front().second;
    if (strata_slot >= 0) {
      const double stratum = v[strata_slot];
      const auto it = std::find_if(baselines.begin(), baselines.end(), [&](const auto& b) { return b.first == stratum; });
      if (it == baselines.end()) return false;  // no BaselineStratum for the value
      baseline = &it->second;
    }
    if (t > baseline->max_time) return false;
    const auto& cells = baseline->cells;
    const auto after = std::upper_bound(cells.begin(), cells.end(), t, [](double time, const auto& c) { return time < c.first; });
    y[0] = after == cells.begin() ? 0.0 : std::prev(after)->second * std::exp(eta - reference_point);
    return true;
  }
};

// A Predictor's contrast Matrix (PMML's Matrix: rows of Arrays, or MatCells, of kind any,
// symmetric or diagonal), rows x columns.
core::Result<std::vector<std::vector<double>>> ReadMatrix(const Compiler& c, const pugi::xml_node& m) {
  const std::string_view kind = m.attribute("kind").as_string("any");
  std::vector<std::vector<double>> rows;
  for (pugi::xml_node a : m.children("Array")) {
    std::vector<double> row;
    for (const auto& item : ArrayItems(a.child_value())) {
      const auto value = ParseNumber(item);
      if (!value) return c.Fail(a, fmt::format("'{}' is not a number", item));
      row.push_back(*value);
    }
    rows.push_back(std::move(row));
  }
  std::size_t n_rows = m.attribute("nbRows").as_uint(0), n_cols = m.attribute("nbCols").as_uint(0);
  if (kind == "diagonal" && rows.size() == 1) {  // one Array: the diagonal
    const auto diagonal = rows.front();
    rows.assign(diagonal.size(), std::vector<double>(diagonal.size(), 0.0));
    for (std::size_t i = 0; i < diagonal.size(); ++i) rows[i][i] = diagonal[i];
  } else if (kind == "symmetric" && !rows.empty()) {  // the lower triangle, row i with i + 1 values
    const std::size_t n = rows.size();
    std::vector<std::vector<double>> full(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) {
      if (rows[i].size() != i + 1) return c.Fail(m, "a symmetric Matrix gives row i with i + 1 values");
      for (std::size_t j = 0; j <= i; ++j) full[i][j] = full[j][i] = rows[i][j];
    }
    rows = std::move(full);
  } else if (rows.empty()) {  // MatCells over the defaults
    for (pugi::xml_node cell : m.children("MatCell")) {
      n_rows = std::max<std::size_t>(n_rows, cell.attribute("row").as_uint(0));
      n_cols = std::max<std::size_t>(n_cols, cell.attribute("col").as_uint(0));
    }
    const double diagonal = m.attribute("diagDefault").as_double(0), off = m.attribute("offDiagDefault").as_double(0);
    rows.assign(n_rows, std::vector<double>(n_cols, off));
    for (std::size_t i = 0; i < std::min(n_rows, n_cols); ++i) rows[i][i] = diagonal;
    for (pugi::xml_node cell : m.children("MatCell")) {
      const std::size_t i = cell.attribute("row").as_uint(0), j = cell.attribute("col").as_uint(0);
      const auto value = ParseNumber(cell.child_value());
      if (i == 0 || j == 0 || !value) return c.Fail(cell, "a MatCell needs a row, a col (from 1) and a number");
      rows[i - 1][j - 1] = *value;
      if (kind == "symmetric") rows[j - 1][i - 1] = *value;
    }
  } else if (kind != "any") {
    return c.Fail(m, fmt::format("a Matrix of kind '{}' is not any, symmetric or diagonal", kind));
  }
  for (const auto& row : rows) {
    if (row.size() != rows.front().size()) return c.Fail(m, "the Matrix's rows differ in length");
  }
  return rows;
}

// A Cox model's time and strata fields and its BaseCumHazardTables.
core::Result<void> CoxBaselines(Compiler& c, const pugi::xml_node& e, GeneralRegressionModel& model) {
  if (model.classification) return c.Fail(e, "a CoxRegression is a regression (of the cumulative hazard)");
  const pugi::xml_attribute end_time = e.attribute("endTimeVariable");
  if (!end_time) return c.Fail(e, "a CoxRegression needs an endTimeVariable");
  FERRY_ASSIGN_OR_RETURN(const auto time_field, c.Field(e, end_time.as_string()));
  model.end_time_slot = time_field.slot;
  const pugi::xml_node tables = e.child("BaseCumHazardTables");
  if (!tables) return c.Fail(e, "a CoxRegression needs BaseCumHazardTables");
  auto read = [&](const pugi::xml_node& parent) -> core::Result<Baseline> {
    Baseline b;
    if (!parent.attribute("maxTime")) return c.Fail(parent, "needs a maxTime");
    b.max_time = parent.attribute("maxTime").as_double();
    for (pugi::xml_node cell : parent.children("BaselineCell")) {
      const auto time = ParseNumber(cell.attribute("time").as_string());
      const auto hazard = ParseNumber(cell.attribute("cumHazard").as_string());
      if (!time || !hazard) return c.Fail(cell, "a BaselineCell needs a time and a cumHazard, numbers");
      b.cells.emplace_back(*time, *hazard);
    }
    if (b.cells.empty()) return c.Fail(parent, "has no BaselineCell");
    std::stable_sort(b.cells.begin(), b.cells.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
    return b;
  };
  if (const auto strata = e.attribute("baselineStrataVariable")) {
    FERRY_ASSIGN_OR_RETURN(const auto field, c.Field(e, strata.as_string()));
    model.strata_slot = static_cast<std::ptrdiff_t>(field.slot);
    for (pugi::xml_node stratum : tables.children("BaselineStratum")) {
      FERRY_ASSIGN_OR_RETURN(const double value, c.ValueFor(stratum, field, stratum.attribute("value").as_string()));
      FERRY_ASSIGN_OR_RETURN(auto baseline, read(stratum));
      model.baselines.emplace_back(value, std::move(baseline));
    }
    if (model.baselines.empty()) return c.Fail(tables, "a stratified CoxRegression needs BaselineStratum elements");
  } else {
    FERRY_ASSIGN_OR_RETURN(auto baseline, read(tables));
    model.baselines.emplace_back(0, std::move(baseline));
  }
  return {};
}

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::GeneralRegression(const pugi::xml_node& e) {
  auto model = std::make_unique<GeneralRegressionModel>();
  FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  const std::string_view type = e.attribute("modelType").as_string();
  if (type == "regression" || type == "generalLinear") {
    model->type = Type::kLinear;
  } else if (type == "generalizedLinear") {
    model->type = Type::kGeneralized;
  } else if (type == "multinomialLogistic") {
    model->type = Type::kMultinomial;
  } else if (type == "ordinalMultinomial") {
    model->type = Type::kOrdinal;
  } else if (type == "CoxRegression") {
    model->type = Type::kCox;
  } else {
    return Fail(e, fmt::format("modelType '{}' is not supported (regression, generalLinear, generalizedLinear, "
                               "multinomialLogistic, ordinalMultinomial, CoxRegression are)", type));
  }
  const bool categorical = model->type == Type::kMultinomial || model->type == Type::kOrdinal;
  if (categorical != model->classification && model->type != Type::kGeneralized) {
    return Fail(e, fmt::format("modelType '{}' does not go with functionName '{}'", type,
                               e.attribute("functionName").as_string()));
  }
  const std::string_view link_name = model->type == Type::kOrdinal ? e.attribute("cumulativeLink").as_string("logit")
                                                                   : e.attribute("linkFunction").as_string("identity");
  if (model->type == Type::kGeneralized || model->type == Type::kOrdinal) {
    const auto* link =
        std::find_if(std::begin(kLinks), std::end(kLinks), [&](const auto& l) { return l.first == link_name; });
    if (link == std::end(kLinks)) return Fail(e, fmt::format("link '{}' is not supported", link_name));
    model->link = link->second;
  }
  model->link_parameter = e.attribute("linkParameter").as_double(1);
  model->offset = e.attribute("offsetValue").as_double(0);
  model->trials = e.attribute("trialsValue").as_double(1);
  for (auto [attribute, slot] :
       {std::pair{"offsetVariable", &model->offset_slot}, std::pair{"trialsVariable", &model->trials_slot}}) {
    if (auto a = e.attribute(attribute)) {
      FERRY_ASSIGN_OR_RETURN(const auto field, Field(e, a.as_string()));
      *slot = static_cast<std::ptrdiff_t>(field.slot);
    }
  }
  // Parameters, in ParameterList order.
  std::map<std::string, std::size_t, std::less<>> parameter_index;
  std::vector<double> reference_points;  // Parameter referencePoint (Cox)
  for (pugi::xml_node p : e.child("ParameterList").children("Parameter")) {
    parameter_index.emplace(p.attribute("name").as_string(), parameter_index.size());
    reference_points.push_back(p.attribute("referencePoint").as_double(0));
  }
  auto parameter_of = [&](const pugi::xml_node& cell) -> core::Result<std::size_t> {
    auto it = parameter_index.find(cell.attribute("parameterName").as_string());
    if (it == parameter_index.end()) {
      return Fail(cell, fmt::format("parameter '{}' is not in the ParameterList",
                                    cell.attribute("parameterName").as_string()));
    }
    return it->second;
  };
  if (parameter_index.empty()) return Fail(e, "has no ParameterList");
  model->parameters.resize(parameter_index.size());
  std::map<std::string, bool, std::less<>> predictors;  // name -> is a factor
  // A factor's contrast matrix: its categories (the rows' and columns' values) and the matrix.
  std::map<std::string, std::pair<std::vector<double>, std::vector<std::vector<double>>>, std::less<>> contrasts;
  for (auto [list, factor] : {std::pair{"FactorList", true}, std::pair{"CovariateList", false}}) {
    for (pugi::xml_node p : e.child(list).children("Predictor")) {
      const std::string name = p.attribute("name").as_string();
      predictors[name] = factor;
      const pugi::xml_node matrix = p.child("Matrix");
      if (!factor || !matrix) continue;
      FERRY_ASSIGN_OR_RETURN(const auto field, Field(p, name));
      std::vector<double> levels;
      for (pugi::xml_node category : p.child("Categories").children("Category")) {
        FERRY_ASSIGN_OR_RETURN(const double level, ValueFor(category, field, category.attribute("value").as_string()));
        levels.push_back(level);
      }
      FERRY_ASSIGN_OR_RETURN(auto entries, ReadMatrix(*this, matrix));
      if (levels.empty() || entries.size() != levels.size() || entries.front().size() != levels.size()) {
        return Fail(p, fmt::format("a contrast Matrix needs a row and a column for each of the {} Categories",
                                   levels.size()));
      }
      contrasts.emplace(name, std::pair{std::move(levels), std::move(entries)});
    }
  }
  for (pugi::xml_node cell : e.child("PPMatrix").children("PPCell")) {
    FERRY_ASSIGN_OR_RETURN(const std::size_t parameter, parameter_of(cell));
    const std::string name = cell.attribute("predictorName").as_string();
    auto predictor = predictors.find(name);
    if (predictor == predictors.end()) return Fail(cell, fmt::format("'{}' is not a factor or a covariate", name));
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(cell, name));
    Cell c{.slot = field.slot, .factor = predictor->second};
    if (c.factor) {
      FERRY_ASSIGN_OR_RETURN(c.value, ValueFor(cell, field, cell.attribute("value").as_string()));
      if (const auto contrast = contrasts.find(name); contrast != contrasts.end()) {
        const auto& [levels, entries] = contrast->second;
        const auto column = std::find(levels.begin(), levels.end(), c.value);
        if (column == levels.end()) {
          return Fail(cell, fmt::format("'{}' is not one of the Categories of the factor '{}'",
                                        cell.attribute("value").as_string(), name));
        }
        for (std::size_t row = 0; row < levels.size(); ++row) {
          c.contrast.emplace_back(levels[row], entries[row][static_cast<std::size_t>(column - levels.begin())]);
        }
      }
    } else {
      const auto exponent = ParseNumber(cell.attribute("value").as_string("1"));
      if (!exponent) return Fail(cell, "a covariate's value is its exponent, a number");
      c.value = *exponent;
    }
    model->parameters[parameter].push_back(c);
  }
  // Betas: by targetCategory (none: the regression's, or the ordinal model's shared slopes).
  std::map<std::size_t, std::vector<double>> by_category;
  std::vector<double> plain(parameter_index.size(), 0.0);
  bool have_plain = false;
  for (pugi::xml_node cell : e.child("ParamMatrix").children("PCell")) {
    FERRY_ASSIGN_OR_RETURN(const std::size_t parameter, parameter_of(cell));
    const double beta = cell.attribute("beta").as_double(0);
    if (auto category = cell.attribute("targetCategory"); category && model->classification) {
      auto& row = by_category[Category(category.as_string())];
      row.resize(parameter_index.size(), 0.0);
      row[parameter] = beta;
    } else {
      plain[parameter] = beta;
      have_plain = true;
    }
  }
  if (auto matrix = e.child("PCovMatrix"); matrix && !model->classification) {
    const std::size_t n = parameter_index.size();
    model->covariance.assign(n * n, 0.0);
    for (pugi::xml_node cell : matrix.children("PCovCell")) {
      auto at = [&](const char* attribute) -> core::Result<std::size_t> {
        auto it = parameter_index.find(cell.attribute(attribute).as_string());
        if (it == parameter_index.end()) {
          return Fail(cell, fmt::format("{} '{}' is not in the ParameterList", attribute,
                                        cell.attribute(attribute).as_string()));
        }
        return it->second;
      };
      FERRY_ASSIGN_OR_RETURN(const std::size_t row, at("pRow"));
      FERRY_ASSIGN_OR_RETURN(const std::size_t column, at("pCol"));
      const auto value = ParseNumber(cell.attribute("value").as_string());
      if (!value) return Fail(cell, "a PCovCell's value is a number");
      model->covariance[row * n + column] = model->covariance[column * n + row] = *value;  // a triangle suffices
    }
  }
  if (model->type == Type::kCox) {
    for (std::size_t p = 0; p < plain.size(); ++p) model->reference_point += plain[p] * reference_points[p];
    FERRY_RETURN_IF_ERROR(CoxBaselines(*this, e, *model));
  }
  if (!model->classification) {
    model->betas.emplace_back(0, std::move(plain));
  } else {
    for (auto& [category, row] : by_category) model->betas.emplace_back(category, std::move(row));
    if (model->type == Type::kOrdinal) {
      model->shared = have_plain ? std::move(plain) : std::vector<double>(parameter_index.size(), 0.0);
      for (std::size_t k = 0; k < out_.categories.size(); ++k) model->order.push_back(k);
      for (std::size_t k = 0; k + 1 < model->order.size(); ++k) {
        if (!by_category.contains(k)) {
          return Fail(e, fmt::format("an ordinalMultinomial model needs an intercept for every category but the last "
                                     "('{}' has none)", out_.categories[k]));
        }
      }
    } else {
      const std::string reference = e.attribute("targetReferenceCategory").as_string("");
      if (!reference.empty()) {
        model->reference = Category(reference);
      } else {
        // The category without betas (the last of the target's Values, if several lack them).
        std::size_t missing = out_.categories.size();
        for (std::size_t k = 0; k < out_.categories.size(); ++k) {
          if (!by_category.contains(k)) missing = k;
        }
        if (missing == out_.categories.size()) return Fail(e, fmt::format("{} needs a reference category", type));
        model->reference = missing;
      }
      if (model->type == Type::kGeneralized) {  // a binary classification (R's binomial glm)
        if (out_.categories.size() != 2) {
          return Fail(e, "a generalizedLinear classification has two categories (a multinomialLogistic has more)");
        }
        const std::size_t modelled = 1 - model->reference;
        if (model->betas.empty()) model->betas.emplace_back(modelled, std::move(plain));
        if (model->betas.size() != 1 || model->betas[0].first != modelled) {
          return Fail(e, fmt::format("a generalizedLinear classification gives betas for '{}' alone",
                                     out_.categories[modelled]));
        }
      }
    }
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
