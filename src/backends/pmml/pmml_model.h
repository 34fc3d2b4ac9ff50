// PMML: ferry's own evaluator for PMML 4.x documents (pugixml reads the XML). A document is
// compiled once at load time into a CompiledPmml: fields by index, expressions as trees of
// nodes over those indices, regression tables as arrays, so evaluating a row does no XML or
// string work. Supported today (anything else is refused at load with its element and line):
//   DataDictionary (continuous and categorical fields, Values), MiningSchema (active/target
//   fields, missingValueReplacement), TransformationDictionary and LocalTransformations
//   DerivedFields with Constant, FieldRef, NormContinuous and Apply (+ - * / min max sum avg
//   log10 ln sqrt abs exp pow threshold floor ceil round isMissing isNotMissing equal notEqual
//   lessThan lessOrEqual greaterThan greaterOrEqual and or not if, and x-ln1p / ln1p, x-expm1),
//   RegressionModel (regression and classification; normalizationMethod none, logit, softmax,
//   exp, probit, cloglog, loglog, cauchit, simplemax; NumericPredictor with exponent,
//   CategoricalPredictor), TreeModel (Simple/Compound/SimpleSet predicates, True, False;
//   missingValueStrategy none/lastPrediction/nullPrediction/defaultChild; noTrueChildStrategy;
//   ScoreDistribution). Not yet: MiningModel (ensembles), NormDiscrete, Discretize, MapValues.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ferry::backends::pmml {

class CompiledPmml {
 public:
  // Compiles the document; `source` names it in errors ("model.pmml:12: ...").
  static core::Result<std::unique_ptr<CompiledPmml>> Compile(std::string_view xml, std::string_view source);
  ~CompiledPmml();

  // The active fields, in DataDictionary order: the columns of the input.
  const std::vector<std::string>& inputs() const;
  bool classification() const;
  // Classification: the target categories, in the order of the probability columns.
  const std::vector<std::string>& categories() const;

  // Evaluates `rows` rows of `inputs().size()` values each (NaN = missing). Regression writes one
  // value a row into `out`; classification writes categories().size() probabilities a row.
  void Evaluate(const double* in, std::size_t rows, double* out) const;

  struct Impl;  // the compiled form, defined in pmml_model.cc

 private:
  CompiledPmml();
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::backends::pmml
