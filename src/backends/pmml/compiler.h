// Compiles a PMML document into a Program (internal to the PMML backend). One Compiler a
// document; its methods live beside what they compile: expression.cc (DerivedField
// expressions), predicate.cc, regression.cc, tree.cc, mining.cc, compiler.cc (the document,
// fields and outputs).
#pragma once

#include <pugixml.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/pmml/compiled.h"
#include "core/error.h"

namespace ferry::backends::pmml {

std::optional<double> ParseNumber(std::string_view text);
// The values of an Array's text: space-separated, strings possibly in double quotes.
std::vector<std::string> ArrayItems(std::string_view text);

class Compiler {
 public:
  Compiler(std::string_view xml, std::string_view source, Program& out) : xml_(xml), source_(source), out_(out) {}

  core::Result<void> Run();

  // --- shared by the element compilers ---
  std::unexpected<core::Error> Fail(const pugi::xml_node& at, std::string_view message) const;
  std::unexpected<core::Error> Unsupported(const pugi::xml_node& at) const;

  struct FieldInfo {
    std::size_t slot;
    bool is_string;
  };
  // A field in scope; a DerivedField defined later in its dictionary is compiled first (the order
  // of definition does not matter; a cycle is refused).
  core::Result<FieldInfo> Field(const pugi::xml_node& at, std::string_view name);
  // A value written in the document for a field: the string's code for string fields, else a number.
  core::Result<double> ValueFor(const pugi::xml_node& at, const FieldInfo& field, std::string_view text);
  double StringCode(std::string_view text);
  // An entity's id (a Node's, a rule's, a cluster's) as entityId outputs answer it.
  EntityId Entity(std::string_view id) {
    return EntityId{.code = StringCode(id), .number = ParseNumber(id).value_or(kMissing)};
  }
  std::size_t Category(std::string_view value);

  core::Result<Expr> Expression(const pugi::xml_node& e);
  core::Result<Predicate> CompilePredicate(const pugi::xml_node& e);
  // Any model element (RegressionModel, TreeModel, MiningModel, NeuralNetwork), with its
  // MiningSchema fields' scope, LocalTransformations, Targets and Output. `depth` bounds nesting.
  core::Result<std::unique_ptr<Model>> CompileModel(const pugi::xml_node& e, int depth);

  core::Result<std::unique_ptr<Model>> Regression(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> Tree(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> Mining(const pugi::xml_node& e, int depth);
  core::Result<std::unique_ptr<Model>> NeuralNetwork(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> SupportVectorMachine(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> Scorecard(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> RuleSet(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> Clustering(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> NaiveBayes(const pugi::xml_node& e);
  core::Result<std::unique_ptr<Model>> GeneralRegression(const pugi::xml_node& e);

  // Children every model may hold that its own compiler skips.
  static bool IsModelCommonChild(std::string_view name);
  // functionName regression or classification.
  core::Result<bool> IsClassification(const pugi::xml_node& model) const;

 private:
  int Line(std::ptrdiff_t offset) const;
  core::Result<void> Inputs(const pugi::xml_node& root, const pugi::xml_node& model);
  core::Result<void> DerivedFields(const pugi::xml_node& parent, std::vector<std::pair<std::size_t, Expr>>& into);
  core::Result<void> CompileDerived(std::string_view name);
  // Apply of a DefineFunction: the arguments go to slots of their own, the body reads them.
  core::Result<Expr> CallFunction(const pugi::xml_node& apply, const pugi::xml_node& function);
  core::Result<void> Outputs(const pugi::xml_node& output, Model& model);
  core::Result<void> Targets(const pugi::xml_node& targets, Model& model);
  core::Result<void> NestedMiningSchema(const pugi::xml_node& e, Model& model);
  std::size_t NewSlot(std::string_view name, bool is_string);
  core::Result<void> Finish();

  std::string_view xml_;
  std::string source_;
  Program& out_;
  // Fields in scope (a nested model's local fields are added while it compiles).
  std::map<std::string, FieldInfo, std::less<>> fields_;
  // DerivedFields of the dictionary being compiled not compiled yet, and where each goes.
  struct Pending {
    pugi::xml_node node;
    std::vector<std::pair<std::size_t, Expr>>* into;
  };
  std::map<std::string, Pending, std::less<>> pending_;
  std::vector<std::string> compiling_;  // the chain of DerivedFields being compiled (cycles)
  std::map<std::string, pugi::xml_node, std::less<>> functions_;  // DefineFunction by name
  std::vector<std::string> calling_;  // the chain of functions being inlined (recursion)
  std::map<std::size_t, std::string> displays_;  // category -> display value (DataField Value, TargetValue)
};

}  // namespace ferry::backends::pmml
