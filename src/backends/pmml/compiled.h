// The compiled form of a PMML document, shared by the files that build and evaluate it
// (internal to the PMML backend; pmml_model.h is the interface).
//
// A row is an array of doubles, one slot a field: the active fields first (in DataDictionary
// order), then every derived field and output field, each given its slot at compile time. Missing
// is NaN. Categorical string values are codes: numbered in Program::string_codes, so
// comparing a field with a string constant is comparing two doubles. Classification models write
// one probability a category of Program::categories (a category index is stable across every
// model of the document, so segments' votes and probabilities add up).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace ferry::backends::pmml {

inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
// The code of a string no Value of the document names (it equals no other code).
inline constexpr double kUnknownString = -1;

// ---- expressions (expression.cc) ----

enum class Func : std::uint8_t {
  kAdd, kSub, kMul, kDiv, kMin, kMax, kSum, kAvg, kLog10, kLn, kSqrt, kAbs, kExp, kPow, kThreshold, kFloor,
  kCeil, kRound, kIsMissing, kIsNotMissing, kEqual, kNotEqual, kLess, kLessEq, kGreater, kGreaterEq, kAnd, kOr,
  kNot, kIf, kLn1p, kExpm1, kIsIn, kIsNotIn
};

struct Expr {
  // kLet: a DefineFunction's call: args[0..n) go to the slots key_fields[0..n), then args[n] (the
  // body, which reads them) is the value.
  enum class Op : std::uint8_t { kConst, kField, kApply, kNorm, kNormDiscrete, kDiscretize, kMapValues, kLet };
  Op op = Op::kConst;
  double value = 0;            // kConst; kNorm, kDiscretize, kMapValues: mapMissingTo; kNormDiscrete: the value
  double fallback = kMissing;  // kDiscretize, kMapValues: defaultValue; kNormDiscrete: mapMissingTo
  std::size_t field = 0;    // kField, kNorm, kNormDiscrete, kDiscretize, kMapValues
  Func func = Func::kAdd;   // kApply
  std::vector<Expr> args;   // kApply
  // kNorm: (orig, norm) ascending; kMapValues: (input, output) sorted by input;
  // kDiscretize: (right margin, bin value) of intervals sorted by left margin, see `bins`.
  std::vector<std::pair<double, double>> pairs;
  struct Bin {
    double left, right;
    bool left_closed, right_closed;
    double value;
  };
  std::vector<Bin> bins;  // kDiscretize
  // kMapValues with several FieldColumnPairs: the fields, and the table's rows (one key a field,
  // then the output) flattened; `pairs` is then unused. kLet: the parameters' slots.
  std::vector<std::size_t> key_fields;
  std::vector<double> key_rows;
  bool strings = false;  // the values are string codes (a string constant, field or mapped value)
};

double Eval(const Expr& e, const double* v);

// ---- predicates (predicate.cc) ----

enum class Truth : std::uint8_t { kFalse, kTrue, kUnknown };

struct Predicate {
  enum class Kind : std::uint8_t { kTrue, kFalse, kSimple, kSet, kAnd, kOr, kXor, kSurrogate };
  enum class Op : std::uint8_t { kEqual, kNotEqual, kLess, kLessEq, kGreater, kGreaterEq, kIsMissing, kIsNotMissing };
  Kind kind = Kind::kTrue;
  Op op = Op::kEqual;
  std::size_t field = 0;
  double value = 0;
  bool is_in = true;           // kSet
  std::vector<double> values;  // kSet
  std::vector<Predicate> parts;

  Truth Test(const double* v) const;
};

// ---- exact contributions (tree_shap.cc) ----

struct FlatTree;

// One score column of a model written as an affine function of trees and input fields:
// constant + sum of weight * tree(row) + sum of coefficient * input. What ferry's TreeSHAP and
// linear explainer answer exactly (docs/explain.md).
struct ScoreSum {
  struct Tree {
    const FlatTree* tree;
    double weight;
    std::size_t value = 0;  // which of the tree's values (FlatTree::width): a category's probability
  };
  struct Linear {
    std::size_t field;  // an input field's slot (< Program::inputs.size())
    double coefficient;
  };
  double constant = 0;
  std::vector<Tree> trees;
  std::vector<Linear> linear;
  std::size_t category = 0;  // classification: the category whose column this is

  void Scale(double factor) {
    constant *= factor;
    for (auto& t : trees) t.weight *= factor;
    for (auto& l : linear) l.coefficient *= factor;
  }
  void Add(const ScoreSum& other, double factor) {
    constant += factor * other.constant;
    for (auto t : other.trees) trees.push_back({t.tree, t.weight * factor, t.value});
    for (auto l : other.linear) linear.push_back({l.field, l.coefficient * factor});
  }
};

// A model's scores as ScoreSums: the columns explained and the space they add up in ("identity",
// "logit", "log", "margin"; see core/explanation.h).
struct ScoreSums {
  std::vector<ScoreSum> columns;
  std::string space = "identity";
};

// What an exact explanation of a model may use from the models before it in a modelChain: the
// slots their Output fields write, each as a ScoreSum; and how many input fields there are.
struct SumContext {
  std::size_t inputs = 0;
  std::map<std::size_t, ScoreSum> known;
};

// ---- models (regression.cc, tree.cc, mining.cc) ----

struct OutputField {
  // decision is a kTransformedValue (its expression gives the decision; Decisions only lists
  // them). The features from kReasonCode on are the model's own (Model::Gives).
  enum class Feature : std::uint8_t {
    kPredictedValue, kProbability, kTransformedValue, kPredictedDisplayValue,
    kReasonCode, kEntityId, kClusterId, kAffinity, kConfidence, kStandardError
  };
  std::string name;
  Feature feature = Feature::kPredictedValue;
  std::size_t slot = 0;
  bool category_valued = false;  // kPredictedValue of a classification
  // kProbability, kConfidence, kAffinity: the category (a cluster) named by `value` (-1: the
  // predicted one's)
  std::ptrdiff_t category = -1;
  // kTransformedValue yielding strings, kReasonCode, kEntityId (unless its dataType is a
  // number): answered as BYTES
  bool string_valued = false;
  std::size_t rank = 1;          // kReasonCode: which reason code (1 = the first)
  Expr expression;               // kTransformedValue
  bool final_result = true;      // isFinalResult: an output of the top model
};

// What a nested model's (a Segment's) own MiningSchema does to an input field inside that
// model only: its missingValueReplacement and outlier treatment.
struct FieldTreatment {
  std::size_t slot = 0;
  bool replace_missing = false;
  double missing_replacement = kMissing;
  enum class Outliers : std::uint8_t { kAsIs, kAsMissing, kAsExtreme };
  Outliers outliers = Outliers::kAsIs;
  double low = 0, high = 0;
};
inline constexpr std::size_t kMaxFieldTreatments = 64;

// The id of what answered (a tree's Node, a rule, a cluster), as an entityId output gives it: the
// string's code, or the number it spells when the OutputField's dataType is a number.
struct EntityId {
  double code = kMissing;
  double number = kMissing;
  double For(const OutputField& o) const { return o.string_valued ? code : number; }
};

class Model {
 public:
  virtual ~Model() = default;
  bool classification = false;
  // Program::categories.size() and each category as a value (a number, or a string's code), set
  // once the document is compiled.
  std::size_t categories = 0;
  const double* category_values = nullptr;
  std::vector<std::pair<std::size_t, Expr>> local;  // LocalTransformations: (slot, expression)
  std::vector<FieldTreatment> treatments;  // a nested model's MiningSchema (at most kMaxFieldTreatments)
  std::vector<OutputField> outputs;
  double rescale_factor = 1, rescale_constant = 0;  // Targets/Target (regression)
  // Targets/Target, regression: the value without a prediction (defaultValue), then min/max and
  // castInteger applied to a prediction after the rescaling. Classification: the probabilities
  // without a prediction (TargetValue priorProbability), by category.
  double default_value = kMissing;
  double target_min = -std::numeric_limits<double>::infinity(), target_max = std::numeric_limits<double>::infinity();
  enum class Cast : std::uint8_t { kNone, kRound, kCeiling, kFloor };
  Cast cast = Cast::kNone;
  std::vector<std::pair<std::size_t, double>> priors;
  bool HasTargetProcessing() const {
    return rescale_factor != 1 || rescale_constant != 0 || !std::isnan(default_value) || cast != Cast::kNone ||
           target_min != -std::numeric_limits<double>::infinity() ||
           target_max != std::numeric_limits<double>::infinity() || !priors.empty();
  }

  // Evaluates the row `v` (the model's derived fields and outputs are written into it): a
  // regression writes y[0], a classification one probability a category then, at y[categories],
  // the predicted category's index (score_width() values in all). False for a null (missing)
  // prediction. `scratch` holds scratch_size() doubles for ensembles.
  bool Predict(double* v, double* y, double* scratch) const;
  std::size_t score_width() const { return classification ? categories + 1 : 1; }
  virtual std::size_t scratch_size() const { return 0; }
  // The output features a model answers from what its last Score left in `scratch` (reasonCode,
  // entityId, clusterId, affinity, confidence, standardError): whether it gives `feature` (else
  // the document is refused at load), and the value for the field `o` after a Score that
  // answered `y` (a string's code for a string-valued one; missing when there is none).
  virtual bool Gives(OutputField::Feature /*feature*/) const { return false; }
  virtual double Feature(const OutputField& /*o*/, const double* /*y*/, const double* /*scratch*/) const {
    return kMissing;
  }
  virtual void SetCategories(const std::vector<double>& values) {
    categories = values.size();
    category_values = values.data();
  }
  // This model's scores as sums of trees and input terms (ScoreSum), before its Targets; an
  // error naming what stands in the way when they are not (the model is then explained by
  // KernelSHAP). Called once, after the document is compiled.
  virtual core::Result<ScoreSums> Sums(const SumContext& /*context*/) const {
    return core::Unimplemented("its kind of model has no exact explainer");
  }
  // Sums() with the Targets' rescaling applied (an error when they do more than rescale).
  core::Result<ScoreSums> TargetSums(const SumContext& context) const;

 protected:
  // As Predict, before the rescaling and the outputs. A classification writes the probabilities
  // and may write y[categories], the predicted category, when it is not simply the likeliest (a
  // tree leaf's `score`); left NaN, it is the likeliest (ties: the first).
  virtual bool Score(double* v, double* y, double* scratch) const = 0;
};

// The index of the likeliest category (ties: the first).
std::size_t Likeliest(const double* p, std::size_t k);

// ---- the whole document (compiler.cc) ----

struct InputField {
  std::string name;
  std::string data_type;         // the DataField's dataType ("double", "string", ...)
  bool is_string = false;        // values are codes of Program::string_codes
  double missing_replacement = kMissing;
  enum class Invalid : std::uint8_t { kReturnInvalid, kAsIs, kAsMissing, kAsValue };
  Invalid invalid = Invalid::kReturnInvalid;
  double invalid_replacement = kMissing;
  std::vector<double> valid;                        // sorted; empty: any value (see intervals)
  std::vector<Expr::Bin> intervals;                 // Interval elements; empty: any value
  std::vector<double> missing_values;               // Values with property="missing"
  bool missing_is_invalid = false;                  // missingValueTreatment returnInvalid
  enum class Outliers : std::uint8_t { kAsIs, kAsMissing, kAsExtreme };
  Outliers outliers = Outliers::kAsIs;
  double low = 0, high = 0;                         // lowValue, highValue
  bool checked = false;  // any of the above applies (else the value is only tested for missing)
};

struct Program {
  std::vector<InputField> inputs;
  std::vector<std::pair<std::size_t, Expr>> derived;  // TransformationDictionary
  std::size_t slots = 0;
  std::unique_ptr<Model> model;
  std::vector<std::string> categories;  // classification targets
  std::vector<double> category_values;  // each category as a value (Model::category_values)
  std::map<std::string, double, std::less<>> string_codes;
  std::vector<std::string> strings;  // by code: the reverse of string_codes
  std::vector<double> display_codes;  // by category: its display value's string code
  std::vector<const OutputField*> final_outputs;  // the top model's Output, in document order
  std::size_t scratch = 0;                         // Model::scratch_size() of the top model
  // The top model's scores as sums of trees and input terms, for its exact explainer; else why
  // it has none (tree_shap.cc).
  std::optional<ScoreSums> sums;
  std::string no_sums;
};

// The values the model sees for one row of input fields (`row`, inputs.size() values) after the
// missing, invalid and outlier treatments, into values[0, inputs.size()); `index` names the row
// in errors (evaluate.cc).
// Program::sums of the compiled program, and its method ("tree_shap" or "linear") (tree_shap.cc).
void FindSums(Program& p, std::string& method);

core::Result<void> PrepareInputs(const Program& p, const double* row, std::size_t index, double* values);

}  // namespace ferry::backends::pmml
