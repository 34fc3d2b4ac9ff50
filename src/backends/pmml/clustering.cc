// PMML ClusteringModel, center-based: each Cluster's center, the ClusteringFields (with their
// fieldWeight and compareFunction) and the ComparisonMeasure; the row goes to the nearest cluster
// (a distance measure) or the most similar (a similarity measure), the first on a tie. Served as a
// classification over the clusters: `label` is the cluster's id (its position from 1 when it has
// none), `probability` 1 for it. Distances: euclidean, squaredEuclidean, chebychev, cityBlock,
// minkowski (p); compare functions absDiff, gaussSim (similarityScale), delta, equal. Missing
// values are left out, the sum scaled by the MissingValueWeights (all 1 without them) of the
// fields present, as PMML says; a row with every field missing has no prediction.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

enum class Measure : std::uint8_t { kEuclidean, kSquaredEuclidean, kChebychev, kCityBlock, kMinkowski };
enum class Compare : std::uint8_t { kAbsDiff, kGaussSim, kDelta, kEqual };

struct ClusterField {
  std::size_t slot = 0;
  double weight = 1;
  Compare compare = Compare::kAbsDiff;
  double scale = 1;            // gaussSim
  double missing_weight = 1;   // MissingValueWeights
};

class ClusteringModel final : public Model {
 public:
  Measure measure = Measure::kSquaredEuclidean;
  double p = 2;  // minkowski
  std::vector<ClusterField> fields;
  std::vector<double> centers;  // rows of fields.size()
  std::vector<std::size_t> cluster_category;

 protected:
  bool Score(double* v, double* y, double*) const override {
    const std::size_t n = fields.size();
    std::size_t best = 0;
    double best_distance = 0;
    bool any = false;
    for (std::size_t k = 0; k < cluster_category.size(); ++k) {
      const double* center = centers.data() + k * n;
      double sum = 0, present = 0, total = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const ClusterField& f = fields[i];
        total += f.missing_weight;
        const double x = v[f.slot];
        if (std::isnan(x)) continue;
        present += f.missing_weight;
        const double c = Compared(f, x, center[i]);
        switch (measure) {
          case Measure::kEuclidean:
          case Measure::kSquaredEuclidean: sum += f.weight * c * c; break;
          case Measure::kChebychev: sum = std::max(sum, f.weight * c); break;
          case Measure::kCityBlock: sum += f.weight * c; break;
          case Measure::kMinkowski: sum += f.weight * std::pow(c, p); break;
        }
      }
      if (present == 0) return false;
      if (measure != Measure::kChebychev) sum *= total / present;
      const double distance = measure == Measure::kEuclidean   ? std::sqrt(sum)
                              : measure == Measure::kMinkowski ? std::pow(sum, 1 / p)
                                                               : sum;
      if (!any || distance < best_distance) {
        best = k;
        best_distance = distance;
        any = true;
      }
    }
    std::fill(y, y + categories, 0.0);
    y[cluster_category[best]] = 1;
    return true;
  }

 private:
  static double Compared(const ClusterField& f, double x, double y) {
    switch (f.compare) {
      case Compare::kAbsDiff: return std::abs(x - y);
      case Compare::kGaussSim: {
        const double z = x - y;
        return std::exp(-std::numbers::ln2 * z * z / (f.scale * f.scale));
      }
      case Compare::kDelta: return x == y ? 0 : 1;
      case Compare::kEqual: return x == y ? 1 : 0;
    }
    return std::abs(x - y);
  }
};

core::Result<Compare> CompareOf(const Compiler& c, const pugi::xml_node& at, std::string_view name) {
  if (name == "absDiff") return Compare::kAbsDiff;
  if (name == "gaussSim") return Compare::kGaussSim;
  if (name == "delta") return Compare::kDelta;
  if (name == "equal") return Compare::kEqual;
  return c.Fail(at, fmt::format("compareFunction '{}' is not supported (absDiff, gaussSim, delta, equal)", name));
}

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::Clustering(const pugi::xml_node& e) {
  auto model = std::make_unique<ClusteringModel>();
  model->classification = true;  // over the clusters
  if (std::string_view(e.attribute("modelClass").as_string("centerBased")) != "centerBased") {
    return Fail(e, "only centerBased clustering is supported (a distributionBased model is refused)");
  }
  const pugi::xml_node comparison = e.child("ComparisonMeasure");
  if (!comparison) return Fail(e, "has no ComparisonMeasure");
  if (std::string_view(comparison.attribute("kind").as_string("distance")) != "distance") {
    return Fail(comparison, "only distance measures are supported (a similarity measure is refused)");
  }
  FERRY_ASSIGN_OR_RETURN(const Compare default_compare,
                         CompareOf(*this, comparison, comparison.attribute("compareFunction").as_string("absDiff")));
  pugi::xml_node measure;
  for (pugi::xml_node m : comparison.children()) {
    if (m.type() == pugi::node_element && std::string_view(m.name()) != "Extension") measure = m;
  }
  const std::string_view measure_name = measure.name();
  if (measure_name == "euclidean") {
    model->measure = Measure::kEuclidean;
  } else if (measure_name == "squaredEuclidean") {
    model->measure = Measure::kSquaredEuclidean;
  } else if (measure_name == "chebychev") {
    model->measure = Measure::kChebychev;
  } else if (measure_name == "cityBlock") {
    model->measure = Measure::kCityBlock;
  } else if (measure_name == "minkowski") {
    model->measure = Measure::kMinkowski;
    model->p = measure.attribute("p-parameter").as_double(2);
    if (!(model->p > 0)) return Fail(measure, "p-parameter must be positive");
  } else {
    return Fail(comparison, fmt::format("measure '{}' is not supported (euclidean, squaredEuclidean, chebychev, "
                                        "cityBlock, minkowski)", measure_name));
  }
  std::vector<double> missing_weights;
  for (pugi::xml_node c : e.children()) {
    const std::string_view kind = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(kind) || kind == "ComparisonMeasure") continue;
    if (kind == "ClusteringField") {
      if (std::string_view(c.attribute("isCenterField").as_string("true")) == "false") continue;
      FERRY_ASSIGN_OR_RETURN(const auto field, Field(c, c.attribute("field").as_string()));
      ClusterField f{.slot = field.slot, .weight = c.attribute("fieldWeight").as_double(1)};
      f.compare = default_compare;
      if (c.attribute("compareFunction")) {
        FERRY_ASSIGN_OR_RETURN(f.compare, CompareOf(*this, c, c.attribute("compareFunction").as_string()));
      }
      f.scale = c.attribute("similarityScale").as_double(1);
      if (f.compare == Compare::kGaussSim && !(f.scale > 0)) return Fail(c, "gaussSim needs a similarityScale");
      model->fields.push_back(f);
    } else if (kind == "MissingValueWeights") {
      for (const auto& item : ArrayItems(c.child_value("Array"))) {
        const auto w = ParseNumber(item);
        if (!w) return Fail(c, fmt::format("'{}' is not a number", item));
        missing_weights.push_back(*w);
      }
    } else if (kind == "Cluster") {
      const auto items = ArrayItems(c.child_value("Array"));
      std::vector<double> center;
      for (const auto& item : items) {
        const auto value = ParseNumber(item);
        if (!value) return Fail(c, fmt::format("'{}' is not a number", item));
        center.push_back(*value);
      }
      const std::string id = c.attribute("id") ? c.attribute("id").as_string()
                                               : std::to_string(model->cluster_category.size() + 1);
      model->cluster_category.push_back(Category(id));
      model->centers.insert(model->centers.end(), center.begin(), center.end());
    } else {
      return Unsupported(c);
    }
  }
  const std::size_t n = model->fields.size();
  if (n == 0) return Fail(e, "has no ClusteringField");
  if (model->cluster_category.empty()) return Fail(e, "has no Cluster");
  if (model->centers.size() != n * model->cluster_category.size()) {
    return Fail(e, fmt::format("every Cluster needs {} values, one a ClusteringField", n));
  }
  if (!missing_weights.empty()) {
    if (missing_weights.size() != n) return Fail(e, "MissingValueWeights needs one weight a ClusteringField");
    for (std::size_t i = 0; i < n; ++i) model->fields[i].missing_weight = missing_weights[i];
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
