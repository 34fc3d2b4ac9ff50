// PMML RuleSetModel (classification): SimpleRules, nested in CompoundRules, flattened at load
// into rules with the chain of predicates that must all hold (the CompoundRules' and their own),
// in document order. The first RuleSelectionMethod decides:
//   firstHit     the first rule that fires gives the prediction;
//   weightedMax  the firing rule with the largest weight (the first on a tie);
//   weightedSum  each category scores the weights of the firing rules that predict it, divided
//                by how many rules fired; the largest wins.
// The probabilities: the winning rule's ScoreDistribution when it has one (recordCount shares or
// `probability`), else 1 for its score (weightedSum: the weighted shares). No rule firing: the
// RuleSet's defaultScore (its ScoreDistribution, else 1 for it), or a null prediction without one.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

enum class Criterion : std::uint8_t { kFirstHit, kWeightedSum, kWeightedMax };

struct Rule {
  std::vector<const Predicate*> conditions;  // into RuleSetModel::predicates
  std::size_t score = 0;                      // category
  double weight = 1;
  std::vector<double> distribution;  // probabilities by category (empty: 1 for the score)
  double confidence = 1;             // the rule's confidence (the default score's: defaultConfidence)
  EntityId entity;                   // its id (the default score has none)
};

class RuleSetModel final : public Model {
 public:
  Criterion criterion = Criterion::kFirstHit;
  std::vector<std::unique_ptr<Predicate>> predicates;  // stable addresses
  std::vector<Rule> rules;
  bool has_default = false;
  Rule fallback;  // defaultScore

  // The weighted sums by category, then the winning rule (its index; rules.size(): the default
  // score; NaN: none, as with weightedSum) for entityId and confidence outputs.
  std::size_t scratch_size() const override { return categories + 1; }
  bool Gives(OutputField::Feature feature) const override {
    return feature == OutputField::Feature::kEntityId || feature == OutputField::Feature::kConfidence;
  }
  double Feature(const OutputField& o, const double*, const double* scratch) const override {
    const double index = scratch[categories];
    if (std::isnan(index)) return kMissing;
    const Rule& rule = index < static_cast<double>(rules.size()) ? rules[static_cast<std::size_t>(index)] : fallback;
    return o.feature == OutputField::Feature::kEntityId ? rule.entity.For(o) : rule.confidence;
  }

 protected:
  bool Score(double* v, double* y, double* scratch) const override {
    const Rule* winner = nullptr;
    std::size_t fired = 0;
    double* sums = scratch;
    scratch[categories] = kMissing;
    if (criterion == Criterion::kWeightedSum) std::fill(sums, sums + categories, 0.0);
    for (const Rule& rule : rules) {
      if (!Fires(rule, v)) continue;
      ++fired;
      if (criterion == Criterion::kFirstHit) {
        winner = &rule;
        break;
      }
      if (criterion == Criterion::kWeightedMax) {
        if (!winner || rule.weight > winner->weight) winner = &rule;
      } else {
        sums[rule.score] += rule.weight;
      }
    }
    if (criterion == Criterion::kWeightedSum && fired > 0) {
      for (std::size_t j = 0; j < categories; ++j) y[j] = sums[j] / static_cast<double>(fired);
      return true;
    }
    if (!winner) {
      if (!has_default) return false;
      winner = &fallback;
    }
    scratch[categories] = static_cast<double>(winner == &fallback ? rules.size() : static_cast<std::size_t>(winner - rules.data()));
    Answer(*winner, y);
    return true;
  }

 private:
  static bool Fires(const Rule& rule, const double* v) {
    return std::all_of(rule.conditions.begin(), rule.conditions.end(),
                       [&](const Predicate* p) { return p->Test(v) == Truth::kTrue; });
  }

  void Answer(const Rule& rule, double* y) const {
    std::fill(y, y + categories, 0.0);
    if (rule.distribution.empty()) {
      y[rule.score] = 1;
    } else {
      std::copy(rule.distribution.begin(), rule.distribution.end(), y);
    }
    y[categories] = static_cast<double>(rule.score);  // the rule's score, whatever its distribution
  }

 public:
  void SetCategories(const std::vector<double>& values) override {
    Model::SetCategories(values);
    for (Rule* r : AllRules()) r->distribution.resize(r->distribution.empty() ? 0 : categories, 0.0);
  }

 private:
  std::vector<Rule*> AllRules() {
    std::vector<Rule*> all;
    for (auto& r : rules) all.push_back(&r);
    all.push_back(&fallback);
    return all;
  }
};

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::RuleSet(const pugi::xml_node& e) {
  auto model = std::make_unique<RuleSetModel>();
  FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  if (!model->classification) return Fail(e, "a RuleSetModel is a classification");
  pugi::xml_node set;
  for (pugi::xml_node c : e.children()) {
    const std::string_view kind = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(kind)) continue;
    if (kind != "RuleSet" || set) return Unsupported(c);
    set = c;
  }
  if (!set) return Fail(e, "has no RuleSet");
  // A ScoreDistribution list as probabilities by category (recordCount shares, or `probability`).
  auto distribution = [&](const pugi::xml_node& parent) {
    std::vector<std::pair<std::size_t, double>> counts;
    bool probabilities = false;
    for (pugi::xml_node d : parent.children("ScoreDistribution")) {
      const std::size_t category = Category(d.attribute("value").as_string());
      probabilities = probabilities || d.attribute("probability");
      counts.emplace_back(category, d.attribute("probability") ? d.attribute("probability").as_double()
                                                               : d.attribute("recordCount").as_double());
    }
    std::vector<double> out;
    double total = 0;
    for (const auto& [_, n] : counts) total += n;
    for (const auto& [category, n] : counts) {
      if (category >= out.size()) out.resize(category + 1, 0.0);
      out[category] = probabilities || total <= 0 ? n : n / total;
    }
    return out;
  };
  bool have_criterion = false;
  std::vector<const Predicate*> chain;
  // Depth-first, in document order.
  std::function<core::Result<void>(const pugi::xml_node&, int)> add = [&](const pugi::xml_node& parent,
                                                                          int depth) -> core::Result<void> {
    if (depth > 50) return Fail(parent, "rules are nested deeper than 50 levels");
    for (pugi::xml_node r : parent.children()) {
      const std::string_view kind = r.name();
      if (r.type() != pugi::node_element) continue;
      if (kind != "SimpleRule" && kind != "CompoundRule") continue;
      pugi::xml_node predicate;
      for (pugi::xml_node p : r.children()) {
        const std::string_view name = p.name();
        if (p.type() != pugi::node_element || name == "Extension" || name == "ScoreDistribution" ||
            name == "SimpleRule" || name == "CompoundRule") {
          continue;
        }
        if (predicate) return Unsupported(p);
        predicate = p;
      }
      if (!predicate) return Fail(r, "has no predicate");
      FERRY_ASSIGN_OR_RETURN(auto compiled, CompilePredicate(predicate));
      model->predicates.push_back(std::make_unique<Predicate>(std::move(compiled)));
      chain.push_back(model->predicates.back().get());
      if (kind == "CompoundRule") {
        FERRY_RETURN_IF_ERROR(add(r, depth + 1));
      } else {
        if (!r.attribute("score")) return Fail(r, "a SimpleRule needs a score");
        Rule rule{.conditions = chain,
                  .score = Category(r.attribute("score").as_string()),
                  .weight = r.attribute("weight").as_double(1),
                  .distribution = distribution(r),
                  .confidence = r.attribute("confidence").as_double(1),
                  .entity = Entity(r.attribute("id") ? r.attribute("id").as_string()
                                                     : std::to_string(model->rules.size() + 1))};
        model->rules.push_back(std::move(rule));
      }
      chain.pop_back();
    }
    return {};
  };
  for (pugi::xml_node c : set.children()) {
    const std::string_view kind = c.name();
    if (c.type() != pugi::node_element || kind == "Extension" || kind == "SimpleRule" || kind == "CompoundRule" ||
        kind == "ScoreDistribution") {
      continue;
    }
    if (kind != "RuleSelectionMethod") return Unsupported(c);
    if (have_criterion) continue;  // the first one decides
    have_criterion = true;
    const std::string_view criterion = c.attribute("criterion").as_string();
    if (criterion == "firstHit") {
      model->criterion = Criterion::kFirstHit;
    } else if (criterion == "weightedSum") {
      model->criterion = Criterion::kWeightedSum;
    } else if (criterion == "weightedMax") {
      model->criterion = Criterion::kWeightedMax;
    } else {
      return Fail(c, fmt::format("criterion '{}' is not firstHit, weightedSum or weightedMax", criterion));
    }
  }
  if (!have_criterion) return Fail(set, "has no RuleSelectionMethod");
  FERRY_RETURN_IF_ERROR(add(set, 0));
  if (auto fallback = set.attribute("defaultScore")) {
    model->has_default = true;
    model->fallback.score = Category(fallback.as_string());
    model->fallback.distribution = distribution(set);
    model->fallback.confidence = set.attribute("defaultConfidence").as_double(1);
  }
  if (model->rules.empty() && !model->has_default) return Fail(set, "has no rule and no defaultScore");
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
