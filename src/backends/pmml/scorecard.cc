// PMML Scorecard: initialScore plus, for each Characteristic, the partialScore of its first
// Attribute whose predicate is true (a ComplexPartialScore's expression, or the number). No
// true Attribute in a Characteristic, or a missing ComplexPartialScore, is a null prediction.
// With useReasonCodes, each Characteristic gives its Attribute's reason code (else its own) the
// points it lost against its baselineScore (pointsBelow: baseline - partial; pointsAbove:
// partial - baseline); the points are summed by code, codes below zero dropped, and the rest
// ranked by points, most first (ties in document order): OutputField feature="reasonCode" rank=N.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

struct Attribute {
  Predicate predicate;
  double partial = 0;
  bool complex = false;
  Expr expression;       // complex
  std::size_t code = 0;  // index into ScorecardModel::codes
};

struct Characteristic {
  std::vector<Attribute> attributes;
  double baseline = 0;
};

class ScorecardModel final : public Model {
 public:
  double initial = 0;
  bool use_reason_codes = false;
  bool points_above = false;
  std::vector<Characteristic> characteristics;
  std::vector<double> codes;  // each reason code's string code, in order of first appearance

  std::size_t scratch_size() const override { return 2 * codes.size(); }
  bool Gives(OutputField::Feature feature) const override {
    return use_reason_codes && feature == OutputField::Feature::kReasonCode;
  }
  // The rank-th reason code (1-based), missing when fewer.
  double Feature(const OutputField& o, const double*, const double* scratch) const override {
    return o.rank >= 1 && o.rank <= codes.size() ? scratch[o.rank - 1] : kMissing;
  }

 protected:
  bool Score(double* v, double* y, double* scratch) const override {
    double* ranked = scratch;                // string codes, best first (NaN after the last)
    double* points = scratch + codes.size();  // by code; NaN: no Characteristic gave it points
    std::fill(points, points + codes.size(), kMissing);
    double score = initial;
    for (const Characteristic& c : characteristics) {
      const Attribute* chosen = nullptr;
      for (const Attribute& a : c.attributes) {
        if (a.predicate.Test(v) == Truth::kTrue) {
          chosen = &a;
          break;
        }
      }
      if (!chosen) return false;
      const double partial = chosen->complex ? Eval(chosen->expression, v) : chosen->partial;
      if (std::isnan(partial)) return false;
      score += partial;
      if (use_reason_codes) {
        const double lost = points_above ? partial - c.baseline : c.baseline - partial;
        double& sum = points[chosen->code];
        sum = std::isnan(sum) ? lost : sum + lost;
      }
    }
    y[0] = score;
    if (use_reason_codes) {
      // Rank the codes by points (stable: ties keep the document's order); drop those below zero.
      std::size_t order[kMaxCodes];
      std::size_t n = 0;
      for (std::size_t i = 0; i < codes.size(); ++i) {
        if (points[i] >= 0) order[n++] = i;  // NaN (not given) and negative points are left out
      }
      std::stable_sort(order, order + n, [&](std::size_t a, std::size_t b) { return points[a] > points[b]; });
      for (std::size_t i = 0; i < n; ++i) ranked[i] = codes[order[i]];
      std::fill(ranked + n, ranked + codes.size(), kMissing);
    }
    return true;
  }

 public:
  static constexpr std::size_t kMaxCodes = 256;
};

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::Scorecard(const pugi::xml_node& e) {
  auto model = std::make_unique<ScorecardModel>();
  if (std::string_view(e.attribute("functionName").as_string("regression")) != "regression") {
    return Fail(e, "a Scorecard's functionName is regression");
  }
  model->initial = e.attribute("initialScore").as_double(0);
  model->use_reason_codes = e.attribute("useReasonCodes").as_bool(true);
  const std::string_view algorithm = e.attribute("reasonCodeAlgorithm").as_string("pointsBelow");
  if (algorithm != "pointsBelow" && algorithm != "pointsAbove") {
    return Fail(e, fmt::format("reasonCodeAlgorithm '{}' is not pointsBelow or pointsAbove", algorithm));
  }
  model->points_above = algorithm == "pointsAbove";
  const auto model_baseline = e.attribute("baselineScore");
  std::map<std::string, std::size_t, std::less<>> code_index;
  auto code_of = [&](std::string_view text) {
    auto [it, added] = code_index.emplace(std::string(text), model->codes.size());
    if (added) model->codes.push_back(StringCode(text));
    return it->second;
  };
  pugi::xml_node characteristics;
  for (pugi::xml_node c : e.children()) {
    const std::string_view kind = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(kind)) continue;
    if (kind != "Characteristics" || characteristics) return Unsupported(c);
    characteristics = c;
  }
  if (!characteristics) return Fail(e, "has no Characteristics");
  for (pugi::xml_node ch : characteristics.children("Characteristic")) {
    Characteristic characteristic;
    const auto baseline = ch.attribute("baselineScore") ? ch.attribute("baselineScore") : model_baseline;
    if (model->use_reason_codes && !baseline) {
      return Fail(ch, "useReasonCodes needs a baselineScore (the Characteristic's or the Scorecard's)");
    }
    characteristic.baseline = baseline.as_double(0);
    const std::string_view own_code = ch.attribute("reasonCode").as_string("");
    for (pugi::xml_node a : ch.children("Attribute")) {
      Attribute attribute;
      pugi::xml_node predicate;
      for (pugi::xml_node p : a.children()) {
        const std::string_view name = p.name();
        if (p.type() != pugi::node_element || name == "Extension") continue;
        if (name == "ComplexPartialScore") {
          attribute.complex = true;
          pugi::xml_node expression;
          for (pugi::xml_node x : p.children()) {
            if (x.type() == pugi::node_element && std::string_view(x.name()) != "Extension") expression = x;
          }
          if (!expression) return Fail(p, "has no expression");
          FERRY_ASSIGN_OR_RETURN(attribute.expression, Expression(expression));
        } else if (!predicate) {
          predicate = p;
        } else {
          return Unsupported(p);
        }
      }
      if (!predicate) return Fail(a, "has no predicate");
      FERRY_ASSIGN_OR_RETURN(attribute.predicate, CompilePredicate(predicate));
      if (!attribute.complex) {
        if (!a.attribute("partialScore")) return Fail(a, "needs a partialScore or a ComplexPartialScore");
        attribute.partial = a.attribute("partialScore").as_double();
      }
      if (model->use_reason_codes) {
        const std::string code =
            a.attribute("reasonCode") ? a.attribute("reasonCode").as_string() : std::string(own_code);
        if (code.empty()) return Fail(a, "useReasonCodes needs a reasonCode (the Attribute's or its Characteristic's)");
        attribute.code = code_of(code);
        if (model->codes.size() > ScorecardModel::kMaxCodes) {
          return Fail(a, fmt::format("more than {} reason codes", ScorecardModel::kMaxCodes));
        }
      }
      characteristic.attributes.push_back(std::move(attribute));
    }
    if (characteristic.attributes.empty()) return Fail(ch, "has no Attribute");
    model->characteristics.push_back(std::move(characteristic));
  }
  if (model->characteristics.empty()) return Fail(characteristics, "has no Characteristic");
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
