// Evaluating a compiled PMML document: a model's Predict (its Score, then the Targets and the
// Output fields) and CompiledPmml::Evaluate (the inputs' missing, invalid and outlier treatments,
// the derived fields, the model, the final outputs), row by row.
#include "backends/pmml/pmml_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {

using core::Result;

std::size_t Likeliest(const double* p, std::size_t k) {
  return static_cast<std::size_t>(std::max_element(p, p + k) - p);
}

bool Model::Predict(double* v, double* y, double* scratch) const {
  // A nested model's MiningSchema treats its inputs for it alone: the row's values come back after.
  double saved[kMaxFieldTreatments];
  for (std::size_t i = 0; i < treatments.size(); ++i) {
    const FieldTreatment& t = treatments[i];
    double& x = v[t.slot];
    saved[i] = x;
    if (std::isnan(x)) {
      if (t.replace_missing) x = t.missing_replacement;
    } else if (t.outliers != FieldTreatment::Outliers::kAsIs && (x < t.low || x > t.high)) {
      x = t.outliers == FieldTreatment::Outliers::kAsExtreme ? std::clamp(x, t.low, t.high)
          : t.replace_missing                                  ? t.missing_replacement
                                                               : kMissing;
    }
  }
  struct Restore {
    const std::vector<FieldTreatment>& treatments;
    double* v;
    const double* saved;
    ~Restore() {
      for (std::size_t i = 0; i < treatments.size(); ++i) v[treatments[i].slot] = saved[i];
    }
  } restore{treatments, v, saved};
  for (const auto& [slot, e] : local) v[slot] = Eval(e, v);
  const std::size_t k = classification ? categories : 1;
  if (classification) y[k] = kMissing;
  const bool scored = Score(v, y, scratch);
  bool ok = scored;
  if (!classification) {
    if (scored) {
      double value = std::clamp(y[0] * rescale_factor + rescale_constant, target_min, target_max);
      switch (cast) {
        case Cast::kRound: value = std::round(value); break;
        case Cast::kCeiling: value = std::ceil(value); break;
        case Cast::kFloor: value = std::floor(value); break;
        case Cast::kNone: break;
      }
      y[0] = value;
    } else if (!std::isnan(default_value)) {
      y[0] = default_value;  // Target defaultValue: the answer without a prediction
      ok = true;
    }
  } else if (!scored && !priors.empty()) {
    std::fill(y, y + k, 0.0);  // TargetValue priorProbability: the answer without a prediction
    for (const auto& [category, p] : priors) y[category] = p;
    ok = true;
  }
  if (ok && classification && std::isnan(y[k])) y[k] = static_cast<double>(Likeliest(y, k));
  const std::size_t predicted = classification && ok ? static_cast<std::size_t>(y[k]) : 0;
  for (const auto& o : outputs) {
    double& out = v[o.slot];
    if (!ok) {
      out = kMissing;
      continue;
    }
    switch (o.feature) {
      case OutputField::Feature::kPredictedValue:
        out = classification ? category_values[predicted] : y[0];
        break;
      case OutputField::Feature::kPredictedDisplayValue: out = static_cast<double>(predicted); break;
      case OutputField::Feature::kProbability:
        out = y[o.category >= 0 ? static_cast<std::size_t>(o.category) : predicted];
        break;
      case OutputField::Feature::kTransformedValue: out = Eval(o.expression, v); break;
      default: out = Feature(o, y, scratch); break;
    }
  }
  return ok;
}

namespace {

bool Valid(const InputField& in, double x) {
  if (!in.valid.empty()) return std::binary_search(in.valid.begin(), in.valid.end(), x);
  if (in.intervals.empty()) return true;
  return std::any_of(in.intervals.begin(), in.intervals.end(), [&](const Expr::Bin& b) {
    return (b.left_closed ? x >= b.left : x > b.left) && (b.right_closed ? x <= b.right : x < b.right);
  });
}

// The value the model sees for one input value, after the missing, invalid and outlier treatments.
Result<double> Prepare(const InputField& in, double x, std::size_t row) {
  const bool missing =
      std::isnan(x) || std::find(in.missing_values.begin(), in.missing_values.end(), x) != in.missing_values.end();
  if (missing) {
    if (in.missing_is_invalid) {
      return core::InvalidArgument(fmt::format("row {}: field '{}' is missing, and the model does not accept that",
                                               row, in.name));
    }
    return in.missing_replacement;
  }
  if (!Valid(in, x)) {
    switch (in.invalid) {
      case InputField::Invalid::kReturnInvalid:
        if (in.is_string) {
          return core::InvalidArgument(
              fmt::format("row {}: field '{}' has a value that is not one of its categories", row, in.name));
        }
        return core::InvalidArgument(fmt::format("row {}: field '{}' has the invalid value {}", row, in.name, x));
      case InputField::Invalid::kAsIs: break;
      case InputField::Invalid::kAsMissing: return in.missing_replacement;
      case InputField::Invalid::kAsValue: return in.invalid_replacement;
    }
  }
  if (in.outliers != InputField::Outliers::kAsIs && (x < in.low || x > in.high)) {
    if (in.outliers == InputField::Outliers::kAsMissing) return in.missing_replacement;
    return std::clamp(x, in.low, in.high);
  }
  return x;
}

}  // namespace

Result<void> PrepareInputs(const Program& p, const double* row, std::size_t index, double* values) {
  for (std::size_t i = 0; i < p.inputs.size(); ++i) {
    const InputField& field = p.inputs[i];
    if (!field.checked) {
      values[i] = std::isnan(row[i]) ? field.missing_replacement : row[i];
    } else {
      FERRY_ASSIGN_OR_RETURN(values[i], Prepare(field, row[i], index));
    }
  }
  return {};
}

Result<void> CompiledPmml::Evaluate(const double* in, std::size_t rows, double* out) const {
  const Program& p = *impl_;
  const Model& model = *p.model;
  const std::size_t n = p.inputs.size();
  const std::size_t k = model.classification ? p.categories.size() : 1;
  const std::size_t w = width();
  std::vector<double> values(p.slots), scratch(p.scratch);  // allocated a call, not a row
  for (std::size_t r = 0; r < rows; ++r) {
    FERRY_RETURN_IF_ERROR(PrepareInputs(p, in + r * n, r, values.data()));
    for (const auto& [slot, e] : p.derived) values[slot] = Eval(e, values.data());
    double* y = out + r * w;
    const std::size_t base = model.score_width();
    if (!model.Predict(values.data(), y, scratch.data())) std::fill(y, y + base, kMissing);
    for (std::size_t j = 0; j < p.final_outputs.size(); ++j) {
      const OutputField& o = *p.final_outputs[j];
      if (o.feature == OutputField::Feature::kPredictedDisplayValue) {
        y[base + j] = std::isnan(y[k]) ? kMissing : p.display_codes[static_cast<std::size_t>(y[k])];
      } else {
        y[base + j] = o.category_valued ? y[k] : values[o.slot];  // the predicted category's index
      }
    }
  }
  return {};
}

}  // namespace ferry::backends::pmml
