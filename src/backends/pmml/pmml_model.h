// PMML: ferry's own evaluator for PMML 4.x documents (pugixml reads the XML). A document is
// compiled once at load time: fields become slots of a row array, expressions trees over those
// slots, regression tables arrays, trees nodes with compiled predicates, categorical strings
// numeric codes; evaluating a row does no XML or string work. What is supported is listed in
// docs/model_repository.md ("PMML models"); anything else is refused at load with its element
// and line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ferry::backends::pmml {

struct Program;  // the compiled form (compiled.h)

class CompiledPmml {
 public:
  // Compiles the document; `source` names it in errors ("model.pmml:12: ...").
  static core::Result<std::unique_ptr<CompiledPmml>> Compile(std::string_view xml, std::string_view source);
  ~CompiledPmml();

  // The active fields, in DataDictionary order: the columns of the input.
  struct Input {
    std::string name;
    std::string data_type;  // the DataField's dataType: "double", "integer", "string", ...
    bool is_string = false;  // categorical string values: give Encode(text)
  };
  const std::vector<Input>& inputs() const { return inputs_; }
  bool classification() const;
  // Classification: the target categories, in the order of the probability columns (the target
  // DataField's Values, then any other category the models name).
  const std::vector<std::string>& categories() const;
  // The top model's Output fields with isFinalResult (not false), after the prediction columns.
  struct Output {
    std::string name;
    bool is_category = false;  // the predicted category's index (into categories())
    bool is_string = false;    // a string's code: Decode() it
  };
  const std::vector<Output>& outputs() const { return outputs_; }
  // Values a row Evaluate writes: the prediction (regression: 1; classification: one
  // probability a category, then the predicted category's index), then one a output field.
  std::size_t width() const;

  // The value of a string input (an unknown string gives a code no category equals).
  double Encode(std::string_view text) const;
  // The string a code stands for ("" for missing).
  std::string_view Decode(double code) const;

  // Evaluates `rows` rows of `inputs().size()` values each (NaN = missing; strings Encode()d),
  // writing width() values a row into `out`; a null prediction is NaN. An invalid value the
  // model's invalidValueTreatment refuses fails the call, naming the row and field.
  core::Result<void> Evaluate(const double* in, std::size_t rows, double* out) const;

  // Exact contributions (docs/explain.md) when the document's scores are sums of trees whose
  // Nodes give recordCount (TreeSHAP, path-dependent, over ferry's flattened trees) or linear in
  // its inputs (against an all-zero reference); exact_method() is then "tree_shap" or "linear",
  // else empty with no_exact_reason() saying what stands in the way.
  const std::string& exact_method() const { return exact_method_; }
  const std::string& no_exact_reason() const;
  struct Contributions {
    std::size_t column = 0;     // the column of the output explained (classification: the category)
    std::vector<double> base;   // a row
    std::vector<double> values; // rows x inputs().size(), row-major
  };
  struct Explained {
    std::string space;  // "identity", "logit", "log" or "margin"
    std::vector<Contributions> columns;
  };
  // As Evaluate, `rows` rows of inputs: the contributions of each input field to each explained
  // score column.
  core::Result<Explained> Explain(const double* in, std::size_t rows) const;

 private:
  CompiledPmml();
  std::unique_ptr<Program> impl_;
  std::vector<Input> inputs_;
  std::vector<Output> outputs_;
  std::string exact_method_;
};

}  // namespace ferry::backends::pmml
