// PMML MiningModel: a Segmentation of nested models (random forests, gradient boosting, model
// chains), each segment selected by its predicate and combined by the multipleModelMethod.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "backends/pmml/compiler.h"
#include "backends/pmml/flat_tree.h"

namespace ferry::backends::pmml {
namespace {

enum class Method : std::uint8_t {
  kSum, kWeightedSum, kAverage, kWeightedAverage, kMedian, kMax, kMajorityVote, kWeightedMajorityVote, kModelChain,
  kSelectFirst
};

struct MethodSpec {
  std::string_view name;
  Method method;
  bool regression, classification;  // where it makes sense
};

constexpr MethodSpec kMethods[] = {
    {"sum", Method::kSum, true, false},
    {"weightedSum", Method::kWeightedSum, true, false},
    {"average", Method::kAverage, true, true},
    {"weightedAverage", Method::kWeightedAverage, true, true},
    {"median", Method::kMedian, true, false},
    {"max", Method::kMax, true, false},
    {"majorityVote", Method::kMajorityVote, false, true},
    {"weightedMajorityVote", Method::kWeightedMajorityVote, false, true},
    {"modelChain", Method::kModelChain, true, true},
    {"selectFirst", Method::kSelectFirst, true, true},
};

struct Segment {
  Predicate predicate;
  double weight = 1;
  std::unique_ptr<Model> model;
};

class MiningModel final : public Model {
 public:
  Method method = Method::kSum;
  bool missing_returns_missing = false;  // missingPredictionTreatment returnMissing
  std::vector<Segment> segments;
  // A forest or boosted trees: every segment always selected and a plain flat regression tree,
  // combined by (weighted) sum or average. Summed by SumFlatTrees, several trees at a time.
  std::vector<const FlatTree*> flat_trees;
  std::vector<double> flat_weights;  // weightedSum, weightedAverage
  bool flat_all_less = false;

  void FindFlatTrees() {
    if (classification || (method != Method::kSum && method != Method::kWeightedSum && method != Method::kAverage &&
                           method != Method::kWeightedAverage)) {
      return;
    }
    std::vector<const FlatTree*> trees;
    for (const auto& s : segments) {
      const FlatTree* t = s.predicate.kind == Predicate::Kind::kTrue ? AsPlainFlatTree(*s.model) : nullptr;
      if (!t) return;
      trees.push_back(t);
    }
    flat_trees = std::move(trees);
    if (method == Method::kWeightedSum || method == Method::kWeightedAverage) {
      for (const auto& s : segments) flat_weights.push_back(s.weight);
    }
    flat_all_less = std::all_of(flat_trees.begin(), flat_trees.end(), [](const FlatTree* t) { return t->all_less; });
  }

  std::size_t scratch_size() const override {
    std::size_t child = 0;
    for (const auto& s : segments) child = std::max(child, s.model->scratch_size());
    return 2 * Width() + segments.size() + 1 + child;
  }
  // selectFirst answers what its chosen segment's model answers, output features included.
  bool Gives(OutputField::Feature feature) const override {
    return method == Method::kSelectFirst &&
           std::all_of(segments.begin(), segments.end(), [&](const Segment& s) { return s.model->Gives(feature); });
  }
  double Feature(const OutputField& o, const double* y, const double* scratch) const override {
    const double chosen = scratch[2 * Width() + segments.size()];
    if (std::isnan(chosen)) return kMissing;
    return segments[static_cast<std::size_t>(chosen)].model->Feature(o, y, scratch + 2 * Width() + segments.size() + 1);
  }
  void SetCategories(const std::vector<double>& values) override {
    Model::SetCategories(values);
    for (auto& s : segments) s.model->SetCategories(values);
  }

  // A forest or boosted trees summed or averaged (a regression), or a chain whose last model
  // reads the earlier ones' outputs linearly (XGBoost's and LightGBM's classifiers).
  core::Result<ScoreSums> Sums(const SumContext& context) const override {
    for (const auto& s : segments) {
      if (s.predicate.kind != Predicate::Kind::kTrue) {
        return core::Unimplemented("a MiningModel whose Segments are chosen by predicates");
      }
    }
    if (method == Method::kModelChain) return ChainSums(context);
    const bool weighted = method == Method::kWeightedSum || method == Method::kWeightedAverage;
    // A classification averages its segments' probabilities (a vote is not a sum).
    if (!weighted && method != Method::kSum && method != Method::kAverage) {
      return core::Unimplemented(fmt::format("a {} MiningModel combining its segments by {}",
                                             classification ? "classification" : "regression",
                                             std::find_if(std::begin(kMethods), std::end(kMethods), [&](const auto& m) {
                                               return m.method == method;
                                             })->name));
    }
    double total = 0;
    for (const auto& s : segments) total += weighted ? s.weight : 1.0;
    const std::size_t width = classification ? categories : 1;  // a column a category
    ScoreSums sums{.columns = std::vector<ScoreSum>(width), .space = "identity"};
    for (std::size_t c = 0; c < width; ++c) sums.columns[c].category = c;
    for (const auto& s : segments) {
      FERRY_ASSIGN_OR_RETURN(const ScoreSums part, s.model->TargetSums(context));
      if (part.space != "identity" || part.columns.size() != width) {
        return core::Unimplemented("a MiningModel combining segments that answer other scores than it does");
      }
      const double factor = (weighted ? s.weight : 1.0) /
                            (method == Method::kAverage || method == Method::kWeightedAverage ? total : 1.0);
      for (std::size_t c = 0; c < width; ++c) sums.columns[c].Add(part.columns[c], factor);
    }
    return sums;
  }

 protected:
  std::size_t Width() const { return categories + 1; }  // a segment's score_width(), whatever its function

  bool Score(double* v, double* y, double* scratch) const override {
    if (!flat_trees.empty()) return ScoreFlatTrees(v, y);
    const std::size_t k = classification ? categories : 1;
    double* seg = scratch;
    double* acc = seg + Width();
    double* values = acc + Width();  // median
    double* chosen = values + segments.size();  // selectFirst: the segment's index
    double* child = chosen + 1;
    *chosen = kMissing;
    std::fill(acc, acc + k, method == Method::kMax ? -std::numeric_limits<double>::infinity() : 0.0);
    std::size_t count = 0;
    double weights = 0;
    bool chained = false;
    for (const auto& s : segments) {
      if (s.predicate.Test(v) != Truth::kTrue) continue;
      if (!s.model->Predict(v, seg, child)) {
        if (missing_returns_missing) return false;
        continue;  // continue, skipSegment: the other segments decide
      }
      switch (method) {
        case Method::kSelectFirst:
          std::copy(seg, seg + score_width(), y);  // with the segment's predicted category
          *chosen = static_cast<double>(&s - segments.data());
          return true;
        case Method::kModelChain:
          // Every segment runs (their outputs feed the later ones); the last one answers.
          std::copy(seg, seg + Width(), acc);
          chained = s.model->classification == classification;
          break;
        case Method::kSum:
        case Method::kAverage:
          for (std::size_t j = 0; j < k; ++j) acc[j] += seg[j];
          break;
        case Method::kWeightedSum:
        case Method::kWeightedAverage:
          for (std::size_t j = 0; j < k; ++j) acc[j] += s.weight * seg[j];
          break;
        case Method::kMedian: values[count] = seg[0]; break;
        case Method::kMax: acc[0] = std::max(acc[0], seg[0]); break;
        case Method::kMajorityVote: acc[static_cast<std::size_t>(seg[k])] += 1; break;  // its prediction
        case Method::kWeightedMajorityVote: acc[static_cast<std::size_t>(seg[k])] += s.weight; break;
      }
      ++count;
      weights += s.weight;
    }
    if (count == 0 || (method == Method::kModelChain && !chained)) return false;
    switch (method) {
      case Method::kAverage:
        for (std::size_t j = 0; j < k; ++j) y[j] = acc[j] / static_cast<double>(count);
        return true;
      case Method::kWeightedAverage:
        for (std::size_t j = 0; j < k; ++j) y[j] = acc[j] / weights;
        return true;
      case Method::kMajorityVote:
      case Method::kWeightedMajorityVote: {
        // The probability of a category: its share of the votes.
        const double total = method == Method::kMajorityVote ? static_cast<double>(count) : weights;
        for (std::size_t j = 0; j < k; ++j) y[j] = acc[j] / total;
        return true;
      }
      case Method::kMedian: {
        double* mid = values + count / 2;
        std::nth_element(values, mid, values + count);
        if (count % 2 == 1) {
          y[0] = *mid;
        } else {
          y[0] = (*mid + *std::max_element(values, mid)) / 2;
        }
        return true;
      }
      default:
        std::copy(acc, acc + k, y);
        if (method == Method::kModelChain && classification) y[k] = acc[k];  // the last segment's prediction
        return true;
    }
  }

  // Each segment's predicted value (its Output fields) is known to the next as its ScoreSum; the
  // last segment answers. A segment that is not a sum is fine as long as no later one reads it.
  core::Result<ScoreSums> ChainSums(SumContext context) const {
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
      const Model& m = *segments[i].model;
      auto part = m.TargetSums(context);
      if (!part || m.classification || part->space != "identity" || part->columns.size() != 1) continue;
      for (const auto& o : m.outputs) {
        if (o.feature == OutputField::Feature::kPredictedValue) context.known[o.slot] = part->columns.front();
      }
    }
    return segments.back().model->TargetSums(context);
  }

  bool ScoreFlatTrees(const double* v, double* y) const {
    double sum = 0, weights = 0;
    std::size_t count = 0;
    if (!SumFlatTrees(flat_trees, flat_weights, flat_all_less, v, missing_returns_missing, sum, count, weights) ||
        count == 0) {
      return false;
    }
    y[0] = method == Method::kAverage ? sum / static_cast<double>(count) : method == Method::kWeightedAverage ? sum / weights : sum;
    return true;
  }
};

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::Mining(const pugi::xml_node& e, int depth) {
  auto model = std::make_unique<MiningModel>();
  // A clustering is served as a classification over the clusters (ClusteringModel's way).
  const bool clustering = std::string_view(e.attribute("functionName").as_string()) == "clustering";
  if (clustering) {
    model->classification = true;
  } else {
    FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  }
  pugi::xml_node segmentation;
  for (pugi::xml_node c : e.children()) {
    const std::string_view name = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(name)) continue;
    if (name != "Segmentation" || segmentation) return Unsupported(c);
    segmentation = c;
  }
  if (!segmentation) return Fail(e, "has no Segmentation");
  const std::string_view method = segmentation.attribute("multipleModelMethod").as_string();
  const auto* spec = std::find_if(std::begin(kMethods), std::end(kMethods), [&](const auto& m) { return m.name == method; });
  if (spec == std::end(kMethods)) {
    return Fail(segmentation, fmt::format("multipleModelMethod '{}' is not supported{}", method,
                                          method == "selectAll" ? " (ferry serves one result a model)" : ""));
  }
  if (!(model->classification ? spec->classification : spec->regression)) {
    return Fail(segmentation, fmt::format("multipleModelMethod '{}' does not apply to a {}", method,
                                          model->classification ? "classification" : "regression"));
  }
  model->method = spec->method;
  if (clustering && model->method != Method::kSelectFirst && model->method != Method::kModelChain &&
      model->method != Method::kMajorityVote && model->method != Method::kWeightedMajorityVote) {
    return Fail(segmentation, fmt::format("multipleModelMethod '{}' does not apply to a clustering", method));
  }
  const std::string_view missing = segmentation.attribute("missingPredictionTreatment").as_string("continue");
  if (missing != "continue" && missing != "skipSegment" && missing != "returnMissing") {
    return Fail(segmentation, fmt::format("missingPredictionTreatment '{}' is not supported", missing));
  }
  model->missing_returns_missing = missing == "returnMissing";
  for (pugi::xml_node s : segmentation.children()) {
    if (s.type() != pugi::node_element || std::string_view(s.name()) == "Extension") continue;
    if (std::string_view(s.name()) != "Segment") return Unsupported(s);
    Segment segment;
    segment.weight = s.attribute("weight").as_double(1.0);
    pugi::xml_node nested;
    bool has_predicate = false;
    for (pugi::xml_node c : s.children()) {
      if (c.type() != pugi::node_element || std::string_view(c.name()) == "Extension") continue;
      if (!has_predicate) {
        FERRY_ASSIGN_OR_RETURN(segment.predicate, CompilePredicate(c));
        has_predicate = true;
      } else if (!nested) {
        nested = c;
      } else {
        return Unsupported(c);
      }
    }
    if (!nested) return Fail(s, "has no predicate and model");
    FERRY_ASSIGN_OR_RETURN(segment.model, CompileModel(nested, depth + 1));
    if (model->method != Method::kModelChain && segment.model->classification != model->classification) {
      return Fail(nested, fmt::format("a {} in a {} segmentation", segment.model->classification ? "classification" : "regression",
                                      model->classification ? "classification" : "regression"));
    }
    model->segments.push_back(std::move(segment));
  }
  if (model->segments.empty()) return Fail(segmentation, "has no Segment");
  model->FindFlatTrees();
  if (model->method == Method::kModelChain && model->segments.back().model->classification != model->classification) {
    return Fail(segmentation, "the last model of the chain must answer what the MiningModel's functionName asks");
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
