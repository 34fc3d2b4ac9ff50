// PMML ClusteringModel, center-based: each Cluster's center, the ClusteringFields (with their
// fieldWeight and compareFunction) and the ComparisonMeasure; the row goes to the nearest cluster
// (a distance measure) or the most similar (a similarity measure), the first on a tie. Served as a
// classification over the clusters: `label` is the cluster's id (its position from 1 when it has
// none), `probability` 1 for it. Distances: euclidean, squaredEuclidean, chebychev, cityBlock,
// minkowski (p); compare functions absDiff, gaussSim (similarityScale), delta, equal. Missing
// values are left out, the sum scaled by the MissingValueWeights (all 1 without them) of the
// fields present, as PMML says; a row with every field missing has no prediction. Similarities
// of binary values (non-zero is 1; missing ones left out): simpleMatching, jaccard, tanimoto and
// binarySimilarity (its c.. and d.. parameters). Outputs clusterId (the winner's place from 1),
// entityId (its id) and affinity (the distance or similarity to the winner, or to the cluster the
// OutputField's `value` names). A distributionBased model is refused: PMML gives its clusters'
// statistics but no way to score a row with them.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>
#include <string>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

enum class Measure : std::uint8_t {
  kEuclidean, kSquaredEuclidean, kChebychev, kCityBlock, kMinkowski,  // distances: the least wins
  kSimpleMatching, kJaccard, kTanimoto, kBinarySimilarity              // similarities: the most wins
};
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
  // binarySimilarity: the numerator's weights of a11, a10, a01, a00, then the denominator's.
  double c11 = 0, c10 = 0, c01 = 0, c00 = 0, d11 = 0, d10 = 0, d01 = 0, d00 = 0;
  std::vector<ClusterField> fields;
  std::vector<double> centers;  // rows of fields.size()
  std::vector<std::size_t> cluster_category;
  std::vector<EntityId> ids;  // each cluster's id (its place from 1 when it has none)

  bool Similarity() const { return measure >= Measure::kSimpleMatching; }

  // Each cluster's distance (or similarity), then the winner's index, for clusterId, entityId and
  // affinity outputs.
  std::size_t scratch_size() const override { return cluster_category.size() + 1; }
  bool Gives(OutputField::Feature feature) const override {
    return feature == OutputField::Feature::kEntityId || feature == OutputField::Feature::kClusterId ||
           feature == OutputField::Feature::kAffinity;
  }
  double Feature(const OutputField& o, const double*, const double* scratch) const override {
    const std::size_t k = cluster_category.size();
    if (std::isnan(scratch[k])) return kMissing;
    auto winner = static_cast<std::size_t>(scratch[k]);
    switch (o.feature) {
      case OutputField::Feature::kClusterId: return static_cast<double>(winner + 1);
      case OutputField::Feature::kEntityId: return ids[winner].For(o);
      default: {  // affinity: to the cluster `value` names, else to the winner
        if (o.category >= 0) {
          const auto named = std::find(cluster_category.begin(), cluster_category.end(),
                                       static_cast<std::size_t>(o.category));
          if (named == cluster_category.end()) return kMissing;
          winner = static_cast<std::size_t>(named - cluster_category.begin());
        }
        return scratch[winner];
      }
    }
  }

 protected:
  bool Score(double* v, double* y, double* scratch) const override {
    const std::size_t k = cluster_category.size();
    scratch[k] = kMissing;
    std::size_t best = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const auto measured = Measured(v, centers.data() + c * fields.size());
      if (!measured) return false;  // every field missing
      scratch[c] = *measured;
      if (Similarity() ? *measured > scratch[best] : *measured < scratch[best]) best = c;
    }
    scratch[k] = static_cast<double>(best);
    std::fill(y, y + categories, 0.0);
    y[cluster_category[best]] = 1;
    return true;
  }

 private:
  // The row's distance to (or similarity with) a center; nothing when every field is missing.
  std::optional<double> Measured(const double* v, const double* center) const {
    const std::size_t n = fields.size();
    if (Similarity()) {  // binary values: counts of (row, center) pairs (1, 1), (1, 0), (0, 1), (0, 0)
      double a11 = 0, a10 = 0, a01 = 0, a00 = 0;
      bool any = false;
      for (std::size_t i = 0; i < n; ++i) {
        const double x = v[fields[i].slot];
        if (std::isnan(x)) continue;
        any = true;
        const bool a = x != 0, b = center[i] != 0;
        (a ? (b ? a11 : a10) : (b ? a01 : a00)) += 1;
      }
      if (!any) return std::nullopt;
      switch (measure) {
        case Measure::kSimpleMatching: return (a11 + a00) / (a11 + a10 + a01 + a00);
        case Measure::kJaccard: return a11 + a10 + a01 == 0 ? 0.0 : a11 / (a11 + a10 + a01);
        case Measure::kTanimoto: return (a11 + a00) / (a11 + 2 * (a10 + a01) + a00);
        default:
          return (c11 * a11 + c10 * a10 + c01 * a01 + c00 * a00) / (d11 * a11 + d10 * a10 + d01 * a01 + d00 * a00);
      }
    }
    double sum = 0, present = 0, total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const ClusterField& f = fields[i];
      total += f.missing_weight;
      const double x = v[f.slot];
      if (std::isnan(x)) continue;
      present += f.missing_weight;
      const double c = Compared(f, x, center[i]);
      switch (measure) {
        case Measure::kChebychev: sum = std::max(sum, f.weight * c); break;
        case Measure::kCityBlock: sum += f.weight * c; break;
        case Measure::kMinkowski: sum += f.weight * std::pow(c, p); break;
        default: sum += f.weight * c * c; break;  // euclidean, squaredEuclidean
      }
    }
    if (present == 0) return std::nullopt;
    if (measure != Measure::kChebychev) sum *= total / present;
    return measure == Measure::kEuclidean ? std::sqrt(sum) : measure == Measure::kMinkowski ? std::pow(sum, 1 / p) : sum;
  }

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
    return Fail(e, "only centerBased clustering is supported: PMML defines no scoring for a distributionBased model "
                   "(its Partitions describe the clusters; JPMML refuses it too)");
  }
  const pugi::xml_node comparison = e.child("ComparisonMeasure");
  if (!comparison) return Fail(e, "has no ComparisonMeasure");
  const std::string_view kind = comparison.attribute("kind").as_string("distance");
  if (kind != "distance" && kind != "similarity") {
    return Fail(comparison, fmt::format("kind '{}' is not distance or similarity", kind));
  }
  FERRY_ASSIGN_OR_RETURN(const Compare default_compare,
                         CompareOf(*this, comparison, comparison.attribute("compareFunction").as_string("absDiff")));
  pugi::xml_node measure;
  for (pugi::xml_node m : comparison.children()) {
    if (m.type() == pugi::node_element && std::string_view(m.name()) != "Extension") measure = m;
  }
  static constexpr std::pair<std::string_view, Measure> kMeasures[] = {
      {"euclidean", Measure::kEuclidean},       {"squaredEuclidean", Measure::kSquaredEuclidean},
      {"chebychev", Measure::kChebychev},       {"cityBlock", Measure::kCityBlock},
      {"minkowski", Measure::kMinkowski},       {"simpleMatching", Measure::kSimpleMatching},
      {"jaccard", Measure::kJaccard},           {"tanimoto", Measure::kTanimoto},
      {"binarySimilarity", Measure::kBinarySimilarity}};
  const std::string_view measure_name = measure.name();
  const auto* found = std::find_if(std::begin(kMeasures), std::end(kMeasures),
                                   [&](const auto& m) { return m.first == measure_name; });
  if (found == std::end(kMeasures)) {
    return Fail(comparison, fmt::format("measure '{}' is not supported (euclidean, squaredEuclidean, chebychev, "
                                        "cityBlock, minkowski, simpleMatching, jaccard, tanimoto, "
                                        "binarySimilarity)", measure_name));
  }
  model->measure = found->second;
  if (model->Similarity() != (kind == "similarity")) {
    return Fail(measure, fmt::format("{} is not a {} measure", measure_name, kind));
  }
  if (model->measure == Measure::kMinkowski) {
    model->p = measure.attribute("p-parameter").as_double(2);
    if (!(model->p > 0)) return Fail(measure, "p-parameter must be positive");
  } else if (model->measure == Measure::kBinarySimilarity) {
    for (auto [name, into] : {std::pair{"c11-parameter", &model->c11}, std::pair{"c10-parameter", &model->c10},
                              std::pair{"c01-parameter", &model->c01}, std::pair{"c00-parameter", &model->c00},
                              std::pair{"d11-parameter", &model->d11}, std::pair{"d10-parameter", &model->d10},
                              std::pair{"d01-parameter", &model->d01}, std::pair{"d00-parameter", &model->d00}}) {
      if (!measure.attribute(name)) return Fail(measure, fmt::format("binarySimilarity needs {}", name));
      *into = measure.attribute(name).as_double();
    }
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
      model->ids.push_back(Entity(id));
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
