// The PMML document: fields (DataDictionary, the top model's MiningSchema), transformations,
// models with their Output and Targets, and CompiledPmml's compilation (evaluate.cc evaluates it).
#include "backends/pmml/pmml_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {

using core::Result;

std::optional<double> ParseNumber(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return d;
}

// ---- the compiler's shared helpers ----

int Compiler::Line(std::ptrdiff_t offset) const {
  const auto end = std::min<std::size_t>(static_cast<std::size_t>(std::max<std::ptrdiff_t>(offset, 0)), xml_.size());
  return 1 + static_cast<int>(std::count(xml_.begin(), xml_.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
}

std::unexpected<core::Error> Compiler::Fail(const pugi::xml_node& at, std::string_view message) const {
  return core::InvalidArgument(fmt::format("{}:{}: <{}>: {}", source_, Line(at.offset_debug()), at.name(), message));
}

std::unexpected<core::Error> Compiler::Unsupported(const pugi::xml_node& at) const {
  return Fail(at, "not supported by ferry's PMML evaluator");
}

Result<Compiler::FieldInfo> Compiler::Field(const pugi::xml_node& at, std::string_view name) {
  if (auto it = fields_.find(name); it != fields_.end()) return it->second;
  if (std::find(compiling_.begin(), compiling_.end(), name) != compiling_.end()) {
    return Fail(at, fmt::format("DerivedField '{}' depends on itself ({} -> {})", name, fmt::join(compiling_, " -> "),
                                name));
  }
  if (pending_.contains(name)) {
    FERRY_RETURN_IF_ERROR(CompileDerived(name));
    return fields_.at(std::string(name));
  }
  return Fail(at, fmt::format("field '{}' is not an active, derived or output field", name));
}

double Compiler::StringCode(std::string_view text) {
  auto it = out_.string_codes.find(text);
  if (it != out_.string_codes.end()) return it->second;
  const auto code = static_cast<double>(out_.string_codes.size());
  out_.string_codes.emplace(std::string(text), code);
  out_.strings.emplace_back(text);
  return code;
}

Result<double> Compiler::ValueFor(const pugi::xml_node& at, const FieldInfo& field, std::string_view text) {
  if (field.is_string) return StringCode(text);
  if (text == "true") return 1.0;  // a boolean field's values (BOOL tensors give 1 and 0)
  if (text == "false") return 0.0;
  const auto d = ParseNumber(text);
  if (!d) return Fail(at, fmt::format("'{}' is not a number, and the field is numeric", text));
  return *d;
}

std::size_t Compiler::Category(std::string_view value) {
  auto it = std::find(out_.categories.begin(), out_.categories.end(), value);
  if (it != out_.categories.end()) return static_cast<std::size_t>(it - out_.categories.begin());
  out_.categories.emplace_back(value);
  return out_.categories.size() - 1;
}

std::size_t Compiler::NewSlot(std::string_view name, bool is_string) {
  const std::size_t slot = out_.slots++;
  fields_.insert_or_assign(std::string(name), FieldInfo{slot, is_string});
  return slot;
}

bool Compiler::IsModelCommonChild(std::string_view name) {
  return name == "MiningSchema" || name == "LocalTransformations" || name == "Output" || name == "Targets" ||
         name == "Extension" || name == "ModelStats" || name == "ModelExplanation" || name == "ModelVerification";
}

Result<bool> Compiler::IsClassification(const pugi::xml_node& model) const {
  const std::string_view function = model.attribute("functionName").as_string();
  if (function != "regression" && function != "classification") {
    return Fail(model, fmt::format("functionName '{}' is not regression or classification", function));
  }
  return function == "classification";
}

// ---- the document ----

namespace {

constexpr std::string_view kModelElements[] = {"RegressionModel", "TreeModel", "MiningModel", "NeuralNetwork",
                                               "SupportVectorMachineModel", "Scorecard", "RuleSetModel",
                                               "ClusteringModel", "NaiveBayesModel", "GeneralRegressionModel"};

bool IsModelElement(std::string_view name) {
  return std::find(std::begin(kModelElements), std::end(kModelElements), name) != std::end(kModelElements);
}

// The models that give an output feature of their own, for the error of one that does not.
std::string_view FeatureGivers(std::string_view feature) {
  if (feature == "reasonCode") return "a Scorecard with useReasonCodes gives it";
  if (feature == "entityId") return "a TreeModel, a RuleSetModel or a ClusteringModel gives it";
  if (feature == "clusterId" || feature == "affinity") return "a ClusteringModel gives it";
  if (feature == "confidence") return "a TreeModel or a RuleSetModel gives it";
  return "a GeneralRegressionModel with a PCovMatrix gives it";  // standardError
}

bool IsStringType(const pugi::xml_node& field) {
  return std::string_view(field.attribute("dataType").as_string()) == "string";
}

}  // namespace

Result<void> Compiler::Run() {
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(xml_.data(), xml_.size());
  if (!parsed) {
    return core::InvalidArgument(
        fmt::format("{}:{}: not valid XML: {}", source_, Line(parsed.offset), parsed.description()));
  }
  const pugi::xml_node root = doc.child("PMML");
  if (!root) return core::InvalidArgument(fmt::format("{}: not a PMML document (no <PMML> element)", source_));
  if (const std::string_view version = root.attribute("version").as_string();
      !version.empty() && !version.starts_with("3.") && !version.starts_with("4.")) {
    return Fail(root, fmt::format("PMML version {} is not supported (3.x and 4.x are)", version));
  }
  pugi::xml_node model;
  for (pugi::xml_node child : root.children()) {
    const std::string_view name = child.name();
    if (child.type() != pugi::node_element || name == "Header" || name == "DataDictionary" ||
        name == "TransformationDictionary" || name == "Extension" || name == "MiningBuildTask") {
      continue;
    }
    if (!IsModelElement(name)) return Unsupported(child);
    if (model) return Fail(child, "more than one model in the document");
    model = child;
  }
  if (!model) return core::InvalidArgument(fmt::format("{}: the document has no model", source_));
  FERRY_RETURN_IF_ERROR(Inputs(root, model));
  if (auto dictionary = root.child("TransformationDictionary")) {
    for (pugi::xml_node c : dictionary.children()) {
      const std::string_view name = c.name();
      if (c.type() == pugi::node_element && name != "DerivedField" && name != "DefineFunction" && name != "Extension") {
        return Unsupported(c);
      }
    }
    FERRY_RETURN_IF_ERROR(DerivedFields(dictionary, out_.derived));
  }
  FERRY_ASSIGN_OR_RETURN(out_.model, CompileModel(model, 0));
  return Finish();
}

// The active fields of the top model's MiningSchema, in DataDictionary order, with what the
// DataDictionary and MiningSchema say about their valid, invalid and missing values.
Result<void> Compiler::Inputs(const pugi::xml_node& root, const pugi::xml_node& model) {
  std::map<std::string, pugi::xml_node, std::less<>> mining;
  std::string target;
  for (pugi::xml_node f : model.child("MiningSchema").children("MiningField")) {
    const std::string_view usage = f.attribute("usageType").as_string("active");
    if (usage == "target" || usage == "predicted") target = f.attribute("name").as_string();
    if (usage == "active") mining[f.attribute("name").as_string()] = f;
  }
  for (pugi::xml_node f : root.child("DataDictionary").children("DataField")) {
    const std::string name = f.attribute("name").as_string();
    const std::string_view optype = f.attribute("optype").as_string();
    if (name == target) {
      // The target's Values order the probability columns.
      for (pugi::xml_node v : f.children("Value")) {
        if (std::string_view(v.attribute("property").as_string("valid")) != "valid") continue;
        const std::size_t category = Category(v.attribute("value").as_string());
        if (auto display = v.attribute("displayValue")) displays_[category] = display.as_string();
      }
      continue;
    }
    auto m = mining.find(name);
    if (m == mining.end()) continue;
    const pugi::xml_node mf = m->second;
    InputField in{.name = name, .data_type = f.attribute("dataType").as_string("double")};
    in.is_string = IsStringType(f);
    if (!in.is_string && optype != "continuous" && in.data_type != "boolean") {
      for (pugi::xml_node v : f.children("Value")) in.is_string = in.is_string || !ParseNumber(v.attribute("value").as_string());
    }
    const FieldInfo info{out_.inputs.size(), in.is_string};
    for (pugi::xml_node v : f.children("Value")) {
      FERRY_ASSIGN_OR_RETURN(const double value, ValueFor(v, info, v.attribute("value").as_string()));
      const std::string_view property = v.attribute("property").as_string("valid");
      if (property == "missing") {
        in.missing_values.push_back(value);
      } else if (property == "valid") {
        in.valid.push_back(value);
      }
    }
    std::sort(in.valid.begin(), in.valid.end());
    for (pugi::xml_node i : f.children("Interval")) {
      const std::string_view closure = i.attribute("closure").as_string();
      const double inf = std::numeric_limits<double>::infinity();
      in.intervals.push_back({.left = i.attribute("leftMargin") ? i.attribute("leftMargin").as_double() : -inf,
                              .right = i.attribute("rightMargin") ? i.attribute("rightMargin").as_double() : inf,
                              .left_closed = closure.starts_with("closed"),
                              .right_closed = closure.ends_with("Closed"),
                              .value = 0});
    }
    if (auto r = mf.attribute("missingValueReplacement")) {
      FERRY_ASSIGN_OR_RETURN(in.missing_replacement, ValueFor(mf, info, r.as_string()));
    }
    const std::string_view missing = mf.attribute("missingValueTreatment").as_string("asIs");
    if (missing != "asIs" && missing != "asMean" && missing != "asMode" && missing != "asMedian" &&
        missing != "asValue" && missing != "returnInvalid") {
      return Fail(mf, fmt::format("missingValueTreatment '{}' is not supported", missing));
    }
    in.missing_is_invalid = missing == "returnInvalid";
    const std::string_view invalid = mf.attribute("invalidValueTreatment").as_string("returnInvalid");
    if (invalid == "returnInvalid") {
      in.invalid = InputField::Invalid::kReturnInvalid;
    } else if (invalid == "asIs") {
      in.invalid = InputField::Invalid::kAsIs;
    } else if (invalid == "asMissing") {
      in.invalid = InputField::Invalid::kAsMissing;
    } else if (invalid == "asValue") {
      in.invalid = InputField::Invalid::kAsValue;
      if (!mf.attribute("invalidValueReplacement")) return Fail(mf, "invalidValueTreatment asValue needs invalidValueReplacement");
      FERRY_ASSIGN_OR_RETURN(in.invalid_replacement, ValueFor(mf, info, mf.attribute("invalidValueReplacement").as_string()));
    } else {
      return Fail(mf, fmt::format("invalidValueTreatment '{}' is not supported", invalid));
    }
    const std::string_view outliers = mf.attribute("outliers").as_string("asIs");
    if (outliers == "asMissingValues" || outliers == "asExtremeValues") {
      in.outliers = outliers == "asMissingValues" ? InputField::Outliers::kAsMissing : InputField::Outliers::kAsExtreme;
      in.low = mf.attribute("lowValue").as_double(-std::numeric_limits<double>::infinity());
      in.high = mf.attribute("highValue").as_double(std::numeric_limits<double>::infinity());
    } else if (outliers != "asIs") {
      return Fail(mf, fmt::format("outliers '{}' is not supported", outliers));
    }
    in.checked = !in.valid.empty() || !in.intervals.empty() || !in.missing_values.empty() || in.missing_is_invalid ||
                 in.outliers != InputField::Outliers::kAsIs;
    fields_[name] = info;
    out_.inputs.push_back(std::move(in));
    mining.erase(m);
  }
  if (!mining.empty()) {
    return Fail(model.child("MiningSchema"),
                fmt::format("active field '{}' is not in the DataDictionary", mining.begin()->first));
  }
  out_.slots = out_.inputs.size();
  return {};
}

// Each DerivedField is compiled when first needed (by a later one, or in document order), so a
// field may refer to one defined after it; `into` gets them in an order that evaluates.
Result<void> Compiler::DerivedFields(const pugi::xml_node& parent, std::vector<std::pair<std::size_t, Expr>>& into) {
  std::vector<std::string> names;
  for (pugi::xml_node d : parent.children()) {
    const std::string_view kind = d.name();
    if (d.type() != pugi::node_element || kind == "Extension") continue;
    if (kind == "DefineFunction" && std::string_view(parent.name()) == "TransformationDictionary") {
      functions_[d.attribute("name").as_string()] = d;
      continue;
    }
    if (kind != "DerivedField") return Unsupported(d);
    const std::string name = d.attribute("name").as_string();
    if (name.empty()) return Fail(d, "has no name");
    if (!pending_.emplace(name, Pending{d, &into}).second) return Fail(d, fmt::format("'{}' is defined twice", name));
    names.push_back(name);
  }
  for (const auto& name : names) {
    if (pending_.contains(name)) FERRY_RETURN_IF_ERROR(CompileDerived(name));
  }
  return {};
}

Result<void> Compiler::CompileDerived(std::string_view name) {
  auto it = pending_.find(name);
  const Pending pending = it->second;
  pending_.erase(it);
  const pugi::xml_node d = pending.node;
  pugi::xml_node expression;
  for (pugi::xml_node c : d.children()) {
    if (c.type() == pugi::node_element && std::string_view(c.name()) != "Extension" &&
        std::string_view(c.name()) != "Value") {
      expression = c;
    }
  }
  if (!expression) return Fail(d, "has no expression");
  compiling_.emplace_back(name);
  auto node = Expression(expression);
  compiling_.pop_back();
  if (!node) return std::unexpected(node.error());
  const bool strings = IsStringType(d) || node->strings;
  pending.into->emplace_back(NewSlot(name, strings), std::move(*node));
  return {};
}

Result<void> Compiler::Outputs(const pugi::xml_node& output, Model& model) {
  for (pugi::xml_node f : output.children()) {
    if (f.type() != pugi::node_element || std::string_view(f.name()) == "Extension") continue;
    if (std::string_view(f.name()) != "OutputField") return Unsupported(f);
    OutputField o{.name = f.attribute("name").as_string()};
    const std::string_view feature = f.attribute("feature").as_string("predictedValue");
    if (feature == "predictedValue") {
      o.feature = OutputField::Feature::kPredictedValue;
      o.category_valued = model.classification;
    } else if (feature == "probability") {
      if (!model.classification) return Fail(f, "feature probability needs a classification");
      o.feature = OutputField::Feature::kProbability;
      if (auto value = f.attribute("value")) o.category = static_cast<std::ptrdiff_t>(Category(value.as_string()));
    } else if (feature == "transformedValue" || feature == "decision") {
      // A decision is the value of its expression; its Decisions element only lists them.
      o.feature = OutputField::Feature::kTransformedValue;
      pugi::xml_node expression;
      for (pugi::xml_node c : f.children()) {
        const std::string_view kind = c.name();
        if (c.type() == pugi::node_element && kind != "Extension" && kind != "Decisions") expression = c;
      }
      if (!expression) return Fail(f, fmt::format("a {} needs an expression", feature));
      FERRY_ASSIGN_OR_RETURN(o.expression, Expression(expression));
      o.string_valued = IsStringType(f) || o.expression.strings;
    } else if (feature == "predictedDisplayValue") {
      if (!model.classification) return Fail(f, "feature predictedDisplayValue needs a classification");
      o.feature = OutputField::Feature::kPredictedDisplayValue;
      o.string_valued = true;
    } else {
      static constexpr std::pair<std::string_view, OutputField::Feature> kModelFeatures[] = {
          {"reasonCode", OutputField::Feature::kReasonCode},   {"entityId", OutputField::Feature::kEntityId},
          {"clusterId", OutputField::Feature::kClusterId},     {"affinity", OutputField::Feature::kAffinity},
          {"confidence", OutputField::Feature::kConfidence},   {"standardError", OutputField::Feature::kStandardError}};
      const auto* known = std::find_if(std::begin(kModelFeatures), std::end(kModelFeatures),
                                       [&](const auto& k) { return k.first == feature; });
      if (known == std::end(kModelFeatures)) {
        return Fail(f, fmt::format("feature '{}' is not supported (predictedValue, probability, transformedValue, "
                                   "decision, predictedDisplayValue, reasonCode, entityId, clusterId, affinity, "
                                   "confidence, standardError are)", feature));
      }
      o.feature = known->second;
      if (!model.Gives(o.feature)) {
        return Fail(f, fmt::format("feature {} is not given by this model ({})", feature, FeatureGivers(feature)));
      }
      o.rank = static_cast<std::size_t>(std::max(1, f.attribute("rank").as_int(1)));
      const std::string_view type = f.attribute("dataType").as_string("string");
      o.string_valued = o.feature == OutputField::Feature::kReasonCode ||
                        (o.feature == OutputField::Feature::kEntityId && type != "integer" && type != "double" &&
                         type != "float");
      if (auto value = f.attribute("value"); value && model.classification) {
        o.category = static_cast<std::ptrdiff_t>(Category(value.as_string()));
      }
    }
    o.final_result = f.attribute("isFinalResult").as_bool(true);
    // Later output fields, and later segments of a model chain, may refer to this one.
    o.slot = NewSlot(o.name, IsStringType(f) || o.string_valued);
    model.outputs.push_back(std::move(o));
  }
  return {};
}

Result<void> Compiler::Targets(const pugi::xml_node& targets, Model& model) {
  for (pugi::xml_node t : targets.children()) {
    if (t.type() != pugi::node_element || std::string_view(t.name()) == "Extension") continue;
    if (std::string_view(t.name()) != "Target") return Unsupported(t);
    for (pugi::xml_attribute a : t.attributes()) {
      const std::string_view name = a.name();
      if (name != "field" && name != "optype" && name != "rescaleFactor" && name != "rescaleConstant" &&
          name != "min" && name != "max" && name != "castInteger") {
        return Fail(t, fmt::format("attribute '{}' is not supported (rescaleFactor, rescaleConstant, min, max and "
                                   "castInteger are)", name));
      }
    }
    for (pugi::xml_node c : t.children()) {
      const std::string_view kind = c.name();
      if (c.type() != pugi::node_element || kind == "Extension") continue;
      if (kind != "TargetValue") return Unsupported(c);
      if (model.classification) {
        const std::size_t category = Category(c.attribute("value").as_string());
        if (auto prior = c.attribute("priorProbability")) model.priors.emplace_back(category, prior.as_double());
        if (auto display = c.attribute("displayValue")) displays_[category] = display.as_string();
      } else if (auto fallback = c.attribute("defaultValue")) {
        model.default_value = fallback.as_double();
      }
    }
    const bool rescales = t.attribute("rescaleFactor") || t.attribute("rescaleConstant") || t.attribute("min") ||
                          t.attribute("max") || t.attribute("castInteger");
    if (model.classification && rescales) return Fail(t, "rescaling applies to a regression");
    model.rescale_factor = t.attribute("rescaleFactor").as_double(1.0);
    model.rescale_constant = t.attribute("rescaleConstant").as_double(0.0);
    if (t.attribute("min")) model.target_min = t.attribute("min").as_double();
    if (t.attribute("max")) model.target_max = t.attribute("max").as_double();
    if (auto cast = t.attribute("castInteger")) {
      const std::string_view how = cast.as_string();
      if (how == "round") {
        model.cast = Model::Cast::kRound;
      } else if (how == "ceiling") {
        model.cast = Model::Cast::kCeiling;
      } else if (how == "floor") {
        model.cast = Model::Cast::kFloor;
      } else {
        return Fail(t, fmt::format("castInteger '{}' is not round, ceiling or floor", how));
      }
    }
  }
  return {};
}

Result<std::unique_ptr<Model>> Compiler::CompileModel(const pugi::xml_node& e, int depth) {
  if (depth > 20) return Fail(e, "models are nested deeper than 20 levels");
  const std::string_view kind = e.name();
  if (!IsModelElement(kind)) return Unsupported(e);
  // A nested model's local fields are seen by it alone; its output fields stay visible (a model
  // chain's later segments use them).
  const auto outer = fields_;
  std::vector<std::pair<std::size_t, Expr>> local;
  if (auto transformations = e.child("LocalTransformations")) FERRY_RETURN_IF_ERROR(DerivedFields(transformations, local));
  std::unique_ptr<Model> model;
  if (kind == "RegressionModel") {
    FERRY_ASSIGN_OR_RETURN(model, Regression(e));
  } else if (kind == "TreeModel") {
    FERRY_ASSIGN_OR_RETURN(model, Tree(e));
  } else if (kind == "NeuralNetwork") {
    FERRY_ASSIGN_OR_RETURN(model, NeuralNetwork(e));
  } else if (kind == "SupportVectorMachineModel") {
    FERRY_ASSIGN_OR_RETURN(model, SupportVectorMachine(e));
  } else if (kind == "Scorecard") {
    FERRY_ASSIGN_OR_RETURN(model, Scorecard(e));
  } else if (kind == "RuleSetModel") {
    FERRY_ASSIGN_OR_RETURN(model, RuleSet(e));
  } else if (kind == "ClusteringModel") {
    FERRY_ASSIGN_OR_RETURN(model, Clustering(e));
  } else if (kind == "NaiveBayesModel") {
    FERRY_ASSIGN_OR_RETURN(model, NaiveBayes(e));
  } else if (kind == "GeneralRegressionModel") {
    FERRY_ASSIGN_OR_RETURN(model, GeneralRegression(e));
  } else {
    FERRY_ASSIGN_OR_RETURN(model, Mining(e, depth));
  }
  model->local = std::move(local);
  if (depth > 0) FERRY_RETURN_IF_ERROR(NestedMiningSchema(e, *model));
  if (auto targets = e.child("Targets")) FERRY_RETURN_IF_ERROR(Targets(targets, *model));
  if (auto output = e.child("Output")) FERRY_RETURN_IF_ERROR(Outputs(output, *model));
  if (depth > 0) {
    auto visible = outer;
    for (const auto& o : model->outputs) visible.insert_or_assign(o.name, fields_.at(o.name));
    fields_ = std::move(visible);
  }
  return model;
}

// A nested model's own MiningSchema: the missing value replacements and outlier treatments it
// gives its active fields apply inside that model. Its invalid value treatment cannot differ
// from the top model's (values are checked once, on the way in).
Result<void> Compiler::NestedMiningSchema(const pugi::xml_node& e, Model& model) {
  for (pugi::xml_node mf : e.child("MiningSchema").children("MiningField")) {
    if (std::string_view(mf.attribute("usageType").as_string("active")) != "active") continue;
    const std::string_view invalid = mf.attribute("invalidValueTreatment").as_string("returnInvalid");
    if (invalid != "returnInvalid" && invalid != "asIs") {
      return Fail(mf, fmt::format("invalidValueTreatment '{}' in a nested model's MiningSchema is not supported "
                                  "(give it in the top model's)", invalid));
    }
    const std::string_view outliers = mf.attribute("outliers").as_string("asIs");
    const auto replacement = mf.attribute("missingValueReplacement");
    if (!replacement && outliers == "asIs") continue;
    FERRY_ASSIGN_OR_RETURN(const FieldInfo info, Field(mf, mf.attribute("name").as_string()));
    FieldTreatment t{.slot = info.slot};
    if (replacement) {
      t.replace_missing = true;
      FERRY_ASSIGN_OR_RETURN(t.missing_replacement, ValueFor(mf, info, replacement.as_string()));
    }
    if (outliers == "asMissingValues" || outliers == "asExtremeValues") {
      t.outliers = outliers == "asMissingValues" ? FieldTreatment::Outliers::kAsMissing
                                                 : FieldTreatment::Outliers::kAsExtreme;
      t.low = mf.attribute("lowValue").as_double(-std::numeric_limits<double>::infinity());
      t.high = mf.attribute("highValue").as_double(std::numeric_limits<double>::infinity());
    } else if (outliers != "asIs") {
      return Fail(mf, fmt::format("outliers '{}' is not supported", outliers));
    }
    if (model.treatments.size() == kMaxFieldTreatments) {
      return Fail(mf, fmt::format("more than {} treated fields in one nested MiningSchema", kMaxFieldTreatments));
    }
    model.treatments.push_back(t);
  }
  return {};
}

Result<void> Compiler::Finish() {
  Model& top = *out_.model;
  if (top.classification && out_.categories.size() < 2) {
    return core::InvalidArgument(fmt::format("{}: the classification names fewer than two categories", source_));
  }
  for (const auto& category : out_.categories) {
    const auto number = ParseNumber(category);
    out_.category_values.push_back(number ? *number : StringCode(category));
  }
  top.SetCategories(out_.category_values);
  for (std::size_t c = 0; c < out_.categories.size(); ++c) {
    auto display = displays_.find(c);
    out_.display_codes.push_back(StringCode(display == displays_.end() ? out_.categories[c] : display->second));
  }
  out_.scratch = top.scratch_size();
  for (const auto& o : top.outputs) {
    if (o.final_result) out_.final_outputs.push_back(&o);
  }
  return {};
}

// ---- CompiledPmml ----

CompiledPmml::CompiledPmml() : impl_(std::make_unique<Program>()) {}
CompiledPmml::~CompiledPmml() = default;

Result<std::unique_ptr<CompiledPmml>> CompiledPmml::Compile(std::string_view xml, std::string_view source) {
  std::unique_ptr<CompiledPmml> compiled(new CompiledPmml());
  Compiler compiler(xml, source, *compiled->impl_);
  FERRY_RETURN_IF_ERROR(compiler.Run());
  auto& p = *compiled->impl_;
  for (const auto& in : p.inputs) compiled->inputs_.push_back({in.name, in.data_type, in.is_string});
  for (const OutputField* o : p.final_outputs) {
    compiled->outputs_.push_back({o->name, o->category_valued, o->string_valued});
  }
  FindSums(p, compiled->exact_method_);
  return compiled;
}

bool CompiledPmml::classification() const { return impl_->model->classification; }
const std::vector<std::string>& CompiledPmml::categories() const { return impl_->categories; }

std::size_t CompiledPmml::width() const { return impl_->model->score_width() + impl_->final_outputs.size(); }

std::string_view CompiledPmml::Decode(double code) const {
  if (std::isnan(code) || code < 0 || code >= static_cast<double>(impl_->strings.size())) return {};
  return impl_->strings[static_cast<std::size_t>(code)];
}

double CompiledPmml::Encode(std::string_view text) const {
  auto it = impl_->string_codes.find(text);
  return it == impl_->string_codes.end() ? kUnknownString : it->second;
}

}  // namespace ferry::backends::pmml
