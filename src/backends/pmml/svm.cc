// PMML SupportVectorMachineModel: a kernel (linear, polynomial, radialBasis, sigmoid), the
// VectorDictionary's vectors (dense Arrays or REAL-SparseArrays over the VectorFields: FieldRefs,
// and CategoricalPredictors as 1/0 indicators), and one SupportVectorMachine a regression or a
// pair (OneAgainstOne) or category (OneAgainstAll), each f(x) = sum c_i K(x, v_i) + b.
//
// Regression: f. OneAgainstOne: each machine votes for its targetCategory when f < threshold,
// else for its alternateTargetCategory (with the model's alternateBinaryTargetCategory: f
// rounded, 1 the targetCategory, 0 the alternate); the probabilities are the shares of the votes.
// OneAgainstAll: the category with the smallest f wins (the largest with maxWins="true"); the
// probabilities are 1 for it, 0 for the others. svmRepresentation Coefficients (a linear
// machine without vectors): f = sum c_j x_j + b.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

enum class Kernel : std::uint8_t { kLinear, kPolynomial, kRadialBasis, kSigmoid };
enum class Method : std::uint8_t { kOneAgainstOne, kOneAgainstAll };

struct Machine {
  std::vector<std::size_t> vectors;  // indices into SvmModel::vectors (empty: coefficients on the fields)
  std::vector<double> coefficients;
  double b = 0;
  std::size_t target = 0, alternate = 0;  // categories
  double threshold = 0;
};

class SvmModel final : public Model {
 public:
  Kernel kernel = Kernel::kLinear;
  double gamma = 1, coef0 = 1, degree = 1;
  Method method = Method::kOneAgainstOne;
  bool max_wins = false;
  bool binary_rounded = false;  // alternateBinaryTargetCategory
  std::size_t binary_alternate = 0;
  // The input vector: a field's value, or 1/0 for a CategoricalPredictor's value.
  struct Input {
    std::size_t slot;
    bool indicator = false;
    double value = 0;
  };
  std::vector<Input> inputs;
  std::vector<double> vectors;  // rows of inputs.size()
  std::vector<Machine> machines;

  std::size_t scratch_size() const override { return inputs.size(); }

 protected:
  bool Score(double* v, double* y, double* scratch) const override {
    double* x = scratch;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const double value = v[inputs[i].slot];
      if (std::isnan(value)) return false;  // a missing input: no prediction
      x[i] = inputs[i].indicator ? (value == inputs[i].value ? 1.0 : 0.0) : value;
    }
    if (!classification) {
      y[0] = Decide(machines[0], x);
      return true;
    }
    std::fill(y, y + categories, 0.0);
    if (method == Method::kOneAgainstAll) {
      std::size_t best = 0;
      double best_value = 0;
      for (std::size_t m = 0; m < machines.size(); ++m) {
        const double f = Decide(machines[m], x);
        if (m == 0 || (max_wins ? f > best_value : f < best_value)) {
          best = machines[m].target;
          best_value = f;
        }
      }
      y[best] = 1;
      return true;
    }
    for (const Machine& machine : machines) {
      const double f = Decide(machine, x);
      if (binary_rounded) {
        const double r = std::round(f);
        if (r != 0 && r != 1) return false;  // the machine must answer 0 or 1
        y[r == 1 ? machine.target : binary_alternate] += 1;
      } else {
        y[f < machine.threshold ? machine.target : machine.alternate] += 1;
      }
    }
    for (std::size_t j = 0; j < categories; ++j) y[j] /= static_cast<double>(machines.size());
    return true;
  }

 private:
  double K(const double* a, const double* b) const {
    const std::size_t n = inputs.size();
    if (kernel == Kernel::kRadialBasis) {
      double d = 0;
      for (std::size_t i = 0; i < n; ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
      return std::exp(-gamma * d);
    }
    double dot = 0;
    for (std::size_t i = 0; i < n; ++i) dot += a[i] * b[i];
    switch (kernel) {
      case Kernel::kPolynomial: return std::pow(gamma * dot + coef0, degree);
      case Kernel::kSigmoid: return std::tanh(gamma * dot + coef0);
      default: return dot;
    }
  }

  double Decide(const Machine& m, const double* x) const {
    double f = m.b;
    if (m.vectors.empty()) {
      for (std::size_t i = 0; i < m.coefficients.size(); ++i) f += m.coefficients[i] * x[i];
      return f;
    }
    for (std::size_t i = 0; i < m.vectors.size(); ++i) {
      f += m.coefficients[i] * K(x, vectors.data() + m.vectors[i] * inputs.size());
    }
    return f;
  }
};

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::SupportVectorMachine(const pugi::xml_node& e) {
  auto model = std::make_unique<SvmModel>();
  FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  const std::string_view representation = e.attribute("svmRepresentation").as_string("SupportVectors");
  if (representation != "SupportVectors" && representation != "Coefficients") {
    return Fail(e, fmt::format("svmRepresentation '{}' is not SupportVectors or Coefficients", representation));
  }
  const bool by_coefficients = representation == "Coefficients";
  const std::string_view method = e.attribute("classificationMethod").as_string("");
  if (method == "OneAgainstAll") {
    model->method = Method::kOneAgainstAll;
  } else if (method != "" && method != "OneAgainstOne") {
    return Fail(e, fmt::format("classificationMethod '{}' is not OneAgainstOne or OneAgainstAll", method));
  }
  model->max_wins = e.attribute("maxWins").as_bool(false);
  const double model_threshold = e.attribute("threshold").as_double(0);
  if (auto alternate = e.attribute("alternateBinaryTargetCategory")) {
    model->binary_rounded = true;
    model->binary_alternate = Category(alternate.as_string());
  }
  std::map<std::string, std::size_t, std::less<>> vector_ids;
  bool has_kernel = false;
  for (pugi::xml_node c : e.children()) {
    const std::string_view kind = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(kind)) continue;
    if (kind == "LinearKernelType" || kind == "PolynomialKernelType" || kind == "RadialBasisKernelType" ||
        kind == "SigmoidKernelType") {
      has_kernel = true;
      model->kernel = kind == "LinearKernelType"       ? Kernel::kLinear
                      : kind == "PolynomialKernelType" ? Kernel::kPolynomial
                      : kind == "RadialBasisKernelType" ? Kernel::kRadialBasis
                                                        : Kernel::kSigmoid;
      model->gamma = c.attribute("gamma").as_double(1);
      model->coef0 = c.attribute("coef0").as_double(1);
      model->degree = c.attribute("degree").as_double(1);
    } else if (kind == "VectorDictionary") {
      for (pugi::xml_node f : c.child("VectorFields").children()) {
        const std::string_view field_kind = f.name();
        if (f.type() != pugi::node_element || field_kind == "Extension") continue;
        if (field_kind == "FieldRef") {
          FERRY_ASSIGN_OR_RETURN(const auto field, Field(f, f.attribute("field").as_string()));
          model->inputs.push_back({.slot = field.slot});
        } else if (field_kind == "CategoricalPredictor") {
          FERRY_ASSIGN_OR_RETURN(const auto field, Field(f, f.attribute("name").as_string()));
          if (f.attribute("coefficient").as_double(1) != 1) return Fail(f, "a vector field's coefficient must be 1");
          FERRY_ASSIGN_OR_RETURN(const double value, ValueFor(f, field, f.attribute("value").as_string()));
          model->inputs.push_back({.slot = field.slot, .indicator = true, .value = value});
        } else {
          return Unsupported(f);
        }
      }
      const std::size_t n = model->inputs.size();
      for (pugi::xml_node instance : c.children("VectorInstance")) {
        std::vector<double> values(n, 0.0);
        if (auto dense = instance.child("Array")) {
          const auto items = ArrayItems(dense.child_value());
          if (items.size() != n) return Fail(dense, fmt::format("has {} values for {} vector fields", items.size(), n));
          for (std::size_t i = 0; i < n; ++i) {
            const auto value = ParseNumber(items[i]);
            if (!value) return Fail(dense, fmt::format("'{}' is not a number", items[i]));
            values[i] = *value;
          }
        } else if (auto sparse = instance.child("REAL-SparseArray")) {
          const auto indices = ArrayItems(sparse.child_value("Indices"));
          const auto entries = ArrayItems(sparse.child_value("REAL-Entries"));
          if (indices.size() != entries.size()) return Fail(sparse, "has as many Indices as REAL-Entries");
          for (std::size_t i = 0; i < indices.size(); ++i) {
            const auto index = ParseNumber(indices[i]);
            const auto value = ParseNumber(entries[i]);
            if (!index || !value || *index < 1 || *index > static_cast<double>(n)) {
              return Fail(sparse, fmt::format("entry {} is not a position 1..{} with a number", i + 1, n));
            }
            values[static_cast<std::size_t>(*index) - 1] = *value;
          }
        } else {
          return Fail(instance, "a VectorInstance needs an Array or a REAL-SparseArray");
        }
        if (!vector_ids.emplace(instance.attribute("id").as_string(), vector_ids.size()).second) {
          return Fail(instance, fmt::format("id '{}' is used twice", instance.attribute("id").as_string()));
        }
        model->vectors.insert(model->vectors.end(), values.begin(), values.end());
      }
    } else if (kind == "SupportVectorMachine") {
      Machine machine;
      machine.threshold = c.attribute("threshold").as_double(model_threshold);
      if (model->classification) {
        if (!c.attribute("targetCategory")) return Fail(c, "a classification's machine needs a targetCategory");
        machine.target = Category(c.attribute("targetCategory").as_string());
        if (model->method == Method::kOneAgainstOne && !model->binary_rounded) {
          if (!c.attribute("alternateTargetCategory")) return Fail(c, "OneAgainstOne needs alternateTargetCategory");
          machine.alternate = Category(c.attribute("alternateTargetCategory").as_string());
        }
      }
      for (pugi::xml_node sv : c.child("SupportVectors").children("SupportVector")) {
        auto id = vector_ids.find(sv.attribute("vectorId").as_string());
        if (id == vector_ids.end()) {
          return Fail(sv, fmt::format("vectorId '{}' is not in the VectorDictionary",
                                      sv.attribute("vectorId").as_string()));
        }
        machine.vectors.push_back(id->second);
      }
      const pugi::xml_node coefficients = c.child("Coefficients");
      machine.b = coefficients.attribute("absoluteValue").as_double(0);
      for (pugi::xml_node coefficient : coefficients.children("Coefficient")) {
        machine.coefficients.push_back(coefficient.attribute("value").as_double(0));
      }
      const std::size_t expected = by_coefficients ? model->inputs.size() : machine.vectors.size();
      if (by_coefficients && !machine.vectors.empty()) {
        return Fail(c, "svmRepresentation Coefficients has no SupportVectors");
      }
      if (machine.coefficients.size() != expected) {
        return Fail(coefficients, fmt::format("has {} Coefficients for {} {}", machine.coefficients.size(), expected,
                                              by_coefficients ? "vector fields" : "support vectors"));
      }
      model->machines.push_back(std::move(machine));
    } else {
      return Unsupported(c);
    }
  }
  if (!has_kernel) return Fail(e, "has no kernel (LinearKernelType, PolynomialKernelType, ...)");
  if (model->inputs.empty()) return Fail(e, "has no VectorFields");
  if (model->machines.empty()) return Fail(e, "has no SupportVectorMachine");
  if (!model->classification && model->machines.size() != 1) return Fail(e, "a regression has one SupportVectorMachine");
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
