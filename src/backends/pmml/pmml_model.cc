#include "backends/pmml/pmml_model.h"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <optional>

namespace ferry::backends::pmml {
namespace {

using core::Result;
constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

enum class Func : std::uint8_t {
  kAdd, kSub, kMul, kDiv, kMin, kMax, kSum, kAvg, kLog10, kLn, kSqrt, kAbs, kExp, kPow, kThreshold, kFloor,
  kCeil, kRound, kIsMissing, kIsNotMissing, kEqual, kNotEqual, kLess, kLessEq, kGreater, kGreaterEq, kAnd, kOr,
  kNot, kIf, kLn1p, kExpm1
};

struct FuncSpec {
  std::string_view name;
  Func func;
  int min_args, max_args;  // max -1: any
};

constexpr FuncSpec kFunctions[] = {
    {"+", Func::kAdd, 2, 2}, {"-", Func::kSub, 2, 2}, {"*", Func::kMul, 2, 2}, {"/", Func::kDiv, 2, 2},
    {"min", Func::kMin, 1, -1}, {"max", Func::kMax, 1, -1}, {"sum", Func::kSum, 1, -1}, {"avg", Func::kAvg, 1, -1},
    {"log10", Func::kLog10, 1, 1}, {"ln", Func::kLn, 1, 1}, {"sqrt", Func::kSqrt, 1, 1}, {"abs", Func::kAbs, 1, 1},
    {"exp", Func::kExp, 1, 1}, {"pow", Func::kPow, 2, 2}, {"threshold", Func::kThreshold, 2, 2},
    {"floor", Func::kFloor, 1, 1}, {"ceil", Func::kCeil, 1, 1}, {"round", Func::kRound, 1, 1},
    {"isMissing", Func::kIsMissing, 1, 1}, {"isNotMissing", Func::kIsNotMissing, 1, 1},
    {"equal", Func::kEqual, 2, 2}, {"notEqual", Func::kNotEqual, 2, 2}, {"lessThan", Func::kLess, 2, 2},
    {"lessOrEqual", Func::kLessEq, 2, 2}, {"greaterThan", Func::kGreater, 2, 2},
    {"greaterOrEqual", Func::kGreaterEq, 2, 2}, {"and", Func::kAnd, 2, -1}, {"or", Func::kOr, 2, -1},
    {"not", Func::kNot, 1, 1}, {"if", Func::kIf, 2, 3}, {"x-ln1p", Func::kLn1p, 1, 1}, {"ln1p", Func::kLn1p, 1, 1},
    {"x-expm1", Func::kExpm1, 1, 1}, {"expm1", Func::kExpm1, 1, 1},
};

struct Node {
  enum class Op : std::uint8_t { kConst, kField, kApply, kNorm };
  Op op = Op::kConst;
  double value = 0;         // kConst; kNorm: mapMissingTo
  std::size_t field = 0;    // kField, kNorm
  Func func = Func::kAdd;   // kApply
  std::vector<Node> args;   // kApply
  std::vector<std::pair<double, double>> norm;  // kNorm: (orig, norm), ascending orig
};

double Eval(const Node& n, const double* v) {
  switch (n.op) {
    case Node::Op::kConst: return n.value;
    case Node::Op::kField: return v[n.field];
    case Node::Op::kNorm: {
      const double x = v[n.field];
      if (std::isnan(x)) return n.value;
      const auto& p = n.norm;
      std::size_t i = 1;
      while (i + 1 < p.size() && x > p[i].first) ++i;  // the segment holding x (extrapolating at the ends)
      const auto& [x0, y0] = p[i - 1];
      const auto& [x1, y1] = p[i];
      return y0 + (x - x0) * (y1 - y0) / (x1 - x0);
    }
    case Node::Op::kApply: break;
  }
  const auto& a = n.args;
  auto arg = [&](std::size_t i) { return Eval(a[i], v); };
  auto boolean = [](bool b) { return b ? 1.0 : 0.0; };
  switch (n.func) {
    case Func::kIsMissing: return boolean(std::isnan(arg(0)));
    case Func::kIsNotMissing: return boolean(!std::isnan(arg(0)));
    case Func::kIf: {
      const double c = arg(0);
      if (std::isnan(c)) return kMissing;
      return c != 0 ? arg(1) : (a.size() > 2 ? arg(2) : kMissing);
    }
    default: break;
  }
  double x = arg(0);
  if (a.size() == 1) {
    switch (n.func) {
      case Func::kLog10: return std::log10(x);
      case Func::kLn: return std::log(x);
      case Func::kSqrt: return std::sqrt(x);
      case Func::kAbs: return std::abs(x);
      case Func::kExp: return std::exp(x);
      case Func::kFloor: return std::floor(x);
      case Func::kCeil: return std::ceil(x);
      case Func::kRound: return std::round(x);
      case Func::kNot: return std::isnan(x) ? kMissing : boolean(x == 0);
      case Func::kLn1p: return std::log1p(x);
      case Func::kExpm1: return std::expm1(x);
      default: break;
    }
  }
  switch (n.func) {
    case Func::kMin:
    case Func::kMax:
    case Func::kSum:
    case Func::kAvg: {
      double acc = x;
      for (std::size_t i = 1; i < a.size(); ++i) {
        const double y = arg(i);
        acc = n.func == Func::kMin ? std::min(acc, y) : n.func == Func::kMax ? std::max(acc, y) : acc + y;
        if (std::isnan(y)) acc = kMissing;
      }
      return n.func == Func::kAvg ? acc / static_cast<double>(a.size()) : acc;
    }
    case Func::kAnd:
    case Func::kOr: {
      bool result = x != 0;
      if (std::isnan(x)) return kMissing;
      for (std::size_t i = 1; i < a.size(); ++i) {
        const double y = arg(i);
        if (std::isnan(y)) return kMissing;
        result = n.func == Func::kAnd ? (result && y != 0) : (result || y != 0);
      }
      return boolean(result);
    }
    default: break;
  }
  const double y = arg(1);
  if (std::isnan(x) || std::isnan(y)) return kMissing;
  switch (n.func) {
    case Func::kAdd: return x + y;
    case Func::kSub: return x - y;
    case Func::kMul: return x * y;
    case Func::kDiv: return x / y;
    case Func::kPow: return std::pow(x, y);
    case Func::kThreshold: return boolean(x > y);
    case Func::kEqual: return boolean(x == y);
    case Func::kNotEqual: return boolean(x != y);
    case Func::kLess: return boolean(x < y);
    case Func::kLessEq: return boolean(x <= y);
    case Func::kGreater: return boolean(x > y);
    case Func::kGreaterEq: return boolean(x >= y);
    default: return kMissing;
  }
}

enum class Normalization { kNone, kLogit, kSoftmax, kExp, kProbit, kCloglog, kLoglog, kCauchit, kSimplemax };

double Link(Normalization n, double y) {
  switch (n) {
    case Normalization::kLogit: return 1 / (1 + std::exp(-y));
    case Normalization::kExp: return std::exp(y);
    case Normalization::kProbit: return 0.5 * std::erfc(-y / std::numbers::sqrt2);
    case Normalization::kCloglog: return 1 - std::exp(-std::exp(y));
    case Normalization::kLoglog: return std::exp(-std::exp(-y));
    case Normalization::kCauchit: return 0.5 + std::atan(y) / std::numbers::pi;
    default: return y;
  }
}

struct Table {
  double intercept = 0;
  struct Numeric {
    std::size_t field;
    double coefficient;
    int exponent;
  };
  struct Categorical {
    std::size_t field;
    double value;
    double coefficient;
  };
  std::vector<Numeric> numeric;
  std::vector<Categorical> categorical;
  std::string category;

  double Score(const double* v) const {
    double y = intercept;
    for (const auto& p : numeric) y += p.coefficient * (p.exponent == 1 ? v[p.field] : std::pow(v[p.field], p.exponent));
    for (const auto& p : categorical) y += v[p.field] == p.value ? p.coefficient : 0.0;
    return y;
  }
};

std::optional<double> Number(std::string_view text) {
  double d = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return d;
}

// A tree predicate: TRUE, FALSE or UNKNOWN (a missing value compared).
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

  Truth Test(const double* v) const {
    switch (kind) {
      case Kind::kTrue: return Truth::kTrue;
      case Kind::kFalse: return Truth::kFalse;
      case Kind::kSimple: {
        const double x = v[field];
        if (op == Op::kIsMissing) return std::isnan(x) ? Truth::kTrue : Truth::kFalse;
        if (op == Op::kIsNotMissing) return std::isnan(x) ? Truth::kFalse : Truth::kTrue;
        if (std::isnan(x)) return Truth::kUnknown;
        bool r = false;
        switch (op) {
          case Op::kEqual: r = x == value; break;
          case Op::kNotEqual: r = x != value; break;
          case Op::kLess: r = x < value; break;
          case Op::kLessEq: r = x <= value; break;
          case Op::kGreater: r = x > value; break;
          case Op::kGreaterEq: r = x >= value; break;
          default: break;
        }
        return r ? Truth::kTrue : Truth::kFalse;
      }
      case Kind::kSet: {
        const double x = v[field];
        if (std::isnan(x)) return Truth::kUnknown;
        const bool found = std::find(values.begin(), values.end(), x) != values.end();
        return found == is_in ? Truth::kTrue : Truth::kFalse;
      }
      case Kind::kSurrogate:
        for (const auto& p : parts) {
          const Truth t = p.Test(v);
          if (t != Truth::kUnknown) return t;
        }
        return Truth::kUnknown;
      case Kind::kAnd:
      case Kind::kOr:
      case Kind::kXor: {
        bool unknown = false;
        int trues = 0;
        for (const auto& p : parts) {
          const Truth t = p.Test(v);
          if (t == Truth::kUnknown) {
            unknown = true;
          } else if (t == Truth::kTrue) {
            ++trues;
            if (kind == Kind::kOr) return Truth::kTrue;
          } else if (kind == Kind::kAnd) {
            return Truth::kFalse;
          }
        }
        if (unknown) return Truth::kUnknown;
        if (kind == Kind::kAnd) return Truth::kTrue;
        if (kind == Kind::kOr) return Truth::kFalse;
        return trues % 2 == 1 ? Truth::kTrue : Truth::kFalse;
      }
    }
    return Truth::kUnknown;
  }
};

struct TreeNode {
  Predicate predicate;
  double score = kMissing;              // regression, or the category index
  std::vector<double> distribution;     // classification: probability a category (empty: one-hot of score)
  std::vector<TreeNode> children;
  std::ptrdiff_t default_child = -1;    // index into children
};

enum class MissingStrategy : std::uint8_t { kNone, kLastPrediction, kNullPrediction, kDefaultChild };

}  // namespace

struct CompiledPmml::Impl {
  std::vector<std::string> inputs;
  std::vector<double> replacement;  // per input: missingValueReplacement, or NaN
  std::vector<std::pair<std::size_t, Node>> derived;  // (slot, expression), in evaluation order
  std::size_t slots = 0;
  std::vector<Table> tables;
  Normalization normalization = Normalization::kNone;
  bool classification = false;
  std::vector<std::string> categories;
  // A TreeModel instead of the regression tables:
  std::optional<TreeNode> tree;
  MissingStrategy missing_strategy = MissingStrategy::kNone;
  bool no_true_child_null = true;  // noTrueChildStrategy returnNullPrediction (default)
};

namespace {

class Compiler {
 public:
  Compiler(std::string_view xml, std::string_view source, CompiledPmml::Impl& out)
      : xml_(xml), source_(source), out_(out) {}

  Result<void> Run() {
    pugi::xml_document doc;
    const auto parsed = doc.load_buffer(xml_.data(), xml_.size());
    if (!parsed) {
      return core::InvalidArgument(fmt::format("{}:{}: not valid XML: {}", source_, Line(parsed.offset),
                                               parsed.description()));
    }
    const pugi::xml_node root = doc.child("PMML");
    if (!root) return core::InvalidArgument(fmt::format("{}: not a PMML document (no <PMML> element)", source_));
    pugi::xml_node model;
    for (pugi::xml_node child : root.children()) {
      const std::string_view name = child.name();
      if (name == "Header" || name == "DataDictionary" || name == "TransformationDictionary" || name == "Extension" ||
          name == "MiningBuildTask") {
        continue;
      }
      if (name != "RegressionModel" && name != "TreeModel") return Unsupported(child);
      if (model) return Fail(child, "more than one model in the document");
      model = child;
    }
    if (!model) return core::InvalidArgument(fmt::format("{}: the document has no model", source_));
    // Fields: the data fields the model's MiningSchema makes active, in DataDictionary order.
    std::map<std::string, std::string, std::less<>> usage;
    std::map<std::string, double, std::less<>> replacement;
    std::string target;
    for (pugi::xml_node f : model.child("MiningSchema").children("MiningField")) {
      const std::string u = f.attribute("usageType").as_string("active");
      usage[f.attribute("name").as_string()] = u;
      if (u == "target" || u == "predicted") target = f.attribute("name").as_string();
      if (auto r = f.attribute("missingValueReplacement")) {
        const auto d = Number(r.as_string());
        if (!d) return Fail(f, "missingValueReplacement must be a number");
        replacement[f.attribute("name").as_string()] = *d;
      }
    }
    for (pugi::xml_node f : root.child("DataDictionary").children("DataField")) {
      const std::string name = f.attribute("name").as_string();
      if (name == target) {
        for (pugi::xml_node v : f.children("Value")) out_.categories.emplace_back(v.attribute("value").as_string());
        continue;
      }
      auto u = usage.find(name);
      if (u == usage.end() || u->second != "active") continue;
      if (std::string_view(f.attribute("optype").as_string()) != "continuous") {
        for (pugi::xml_node v : f.children("Value")) {
          if (!Number(v.attribute("value").as_string())) {
            return Fail(v, fmt::format("categorical field '{}' has the non-numeric value '{}': ferry's PMML input "
                                       "is a numeric tensor",
                                       name, v.attribute("value").as_string()));
          }
        }
      }
      fields_[name] = out_.inputs.size();
      out_.inputs.push_back(name);
      auto r = replacement.find(name);
      out_.replacement.push_back(r == replacement.end() ? kMissing : r->second);
    }
    for (const auto& [name, u] : usage) {
      if (u == "active" && !fields_.contains(name)) {
        return Fail(model.child("MiningSchema"), fmt::format("active field '{}' is not in the DataDictionary", name));
      }
    }
    out_.slots = out_.inputs.size();
    FERRY_RETURN_IF_ERROR(DerivedFields(root.child("TransformationDictionary")));
    FERRY_RETURN_IF_ERROR(DerivedFields(model.child("LocalTransformations")));
    if (std::string_view(model.name()) == "TreeModel") return Tree(model);
    return Regression(model);
  }

 private:
  int Line(std::ptrdiff_t offset) const {
    const auto end = std::min<std::size_t>(static_cast<std::size_t>(std::max<std::ptrdiff_t>(offset, 0)), xml_.size());
    return 1 + static_cast<int>(std::count(xml_.begin(), xml_.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
  }
  std::unexpected<core::Error> Fail(const pugi::xml_node& at, std::string_view message) const {
    return core::InvalidArgument(fmt::format("{}:{}: <{}>: {}", source_, Line(at.offset_debug()), at.name(), message));
  }
  std::unexpected<core::Error> Unsupported(const pugi::xml_node& at) const {
    return Fail(at, "not supported by ferry's PMML evaluator");
  }

  Result<void> DerivedFields(const pugi::xml_node& parent) {
    if (!parent) return {};
    for (pugi::xml_node d : parent.children()) {
      if (std::string_view(d.name()) == "Extension") continue;
      if (std::string_view(d.name()) != "DerivedField") return Unsupported(d);
      pugi::xml_node expression;
      for (pugi::xml_node c : d.children()) {
        if (c.type() == pugi::node_element && std::string_view(c.name()) != "Extension" &&
            std::string_view(c.name()) != "Value") {
          expression = c;
        }
      }
      if (!expression) return Fail(d, "has no expression");
      FERRY_ASSIGN_OR_RETURN(auto node, Expression(expression));
      const std::string name = d.attribute("name").as_string();
      const std::size_t slot = out_.slots++;
      fields_[name] = slot;
      out_.derived.emplace_back(slot, std::move(node));
    }
    return {};
  }

  Result<std::size_t> Field(const pugi::xml_node& at, std::string_view name) const {
    auto it = fields_.find(name);
    if (it == fields_.end()) return Fail(at, fmt::format("field '{}' is not an active or derived field", name));
    return it->second;
  }

  Result<Node> Expression(const pugi::xml_node& e) {
    const std::string_view kind = e.name();
    Node n;
    if (kind == "Constant") {
      const auto d = Number(e.child_value());
      if (!d) return Fail(e, fmt::format("'{}' is not a number", e.child_value()));
      n.op = Node::Op::kConst;
      n.value = *d;
      return n;
    }
    if (kind == "FieldRef") {
      n.op = Node::Op::kField;
      FERRY_ASSIGN_OR_RETURN(n.field, Field(e, e.attribute("field").as_string()));
      return n;
    }
    if (kind == "NormContinuous") {
      n.op = Node::Op::kNorm;
      FERRY_ASSIGN_OR_RETURN(n.field, Field(e, e.attribute("field").as_string()));
      n.value = e.attribute("mapMissingTo") ? e.attribute("mapMissingTo").as_double() : kMissing;
      for (pugi::xml_node p : e.children("LinearNorm")) {
        n.norm.emplace_back(p.attribute("orig").as_double(), p.attribute("norm").as_double());
      }
      if (n.norm.size() < 2 || !std::is_sorted(n.norm.begin(), n.norm.end())) {
        return Fail(e, "needs two or more LinearNorm in ascending orig");
      }
      return n;
    }
    if (kind == "Apply") {
      const std::string_view name = e.attribute("function").as_string();
      const auto* spec = std::find_if(std::begin(kFunctions), std::end(kFunctions),
                                      [&](const FuncSpec& f) { return f.name == name; });
      if (spec == std::end(kFunctions)) return Fail(e, fmt::format("function '{}' is not supported", name));
      n.op = Node::Op::kApply;
      n.func = spec->func;
      for (pugi::xml_node c : e.children()) {
        if (c.type() != pugi::node_element || std::string_view(c.name()) == "Extension") continue;
        FERRY_ASSIGN_OR_RETURN(auto arg, Expression(c));
        n.args.push_back(std::move(arg));
      }
      const int count = static_cast<int>(n.args.size());
      if (count < spec->min_args || (spec->max_args >= 0 && count > spec->max_args)) {
        return Fail(e, fmt::format("function '{}' takes {} argument(s), has {}", name,
                                   spec->max_args == spec->min_args ? std::to_string(spec->min_args)
                                                                    : fmt::format("{} or more", spec->min_args),
                                   count));
      }
      return n;
    }
    return Unsupported(e);
  }

  Result<void> Regression(const pugi::xml_node& model) {
    const std::string_view function = model.attribute("functionName").as_string();
    if (function != "regression" && function != "classification") {
      return Fail(model, fmt::format("functionName '{}' is not regression or classification", function));
    }
    out_.classification = function == "classification";
    const std::string_view method = model.attribute("normalizationMethod").as_string("none");
    static constexpr std::pair<std::string_view, Normalization> kMethods[] = {
        {"none", Normalization::kNone},       {"logit", Normalization::kLogit},     {"softmax", Normalization::kSoftmax},
        {"exp", Normalization::kExp},         {"probit", Normalization::kProbit},   {"cloglog", Normalization::kCloglog},
        {"loglog", Normalization::kLoglog},   {"cauchit", Normalization::kCauchit},
        {"simplemax", Normalization::kSimplemax}};
    const auto* m = std::find_if(std::begin(kMethods), std::end(kMethods), [&](const auto& p) { return p.first == method; });
    if (m == std::end(kMethods)) return Fail(model, fmt::format("normalizationMethod '{}' is not supported", method));
    out_.normalization = m->second;
    for (pugi::xml_node c : model.children()) {
      const std::string_view name = c.name();
      if (name == "MiningSchema" || name == "LocalTransformations" || name == "Output" || name == "Extension" ||
          name == "ModelStats" || name == "ModelExplanation" || name == "ModelVerification") {
        continue;
      }
      if (name != "RegressionTable") return Unsupported(c);
      Table t;
      t.intercept = c.attribute("intercept").as_double();
      t.category = c.attribute("targetCategory").as_string();
      for (pugi::xml_node p : c.children()) {
        const std::string_view kind = p.name();
        if (kind == "NumericPredictor") {
          FERRY_ASSIGN_OR_RETURN(auto field, Field(p, p.attribute("name").as_string()));
          t.numeric.push_back({field, p.attribute("coefficient").as_double(), p.attribute("exponent").as_int(1)});
        } else if (kind == "CategoricalPredictor") {
          FERRY_ASSIGN_OR_RETURN(auto field, Field(p, p.attribute("name").as_string()));
          const auto value = Number(p.attribute("value").as_string());
          if (!value) return Fail(p, "ferry's PMML input is numeric: the value must be a number");
          t.categorical.push_back({field, *value, p.attribute("coefficient").as_double()});
        } else if (kind != "Extension") {
          return Unsupported(p);
        }
      }
      out_.tables.push_back(std::move(t));
    }
    if (out_.tables.empty()) return Fail(model, "has no RegressionTable");
    if (out_.classification) {
      // The probability columns follow the tables (their targetCategory).
      out_.categories.clear();
      for (const auto& t : out_.tables) out_.categories.push_back(t.category);
      if (out_.tables.size() < 2) return Fail(model, "a classification needs a RegressionTable per category");
    } else if (out_.tables.size() != 1) {
      return Fail(model, "a regression has one RegressionTable");
    }
    return {};
  }

  Result<Predicate> CompilePredicate(const pugi::xml_node& e) {
    const std::string_view kind = e.name();
    Predicate p;
    if (kind == "True") return p;
    if (kind == "False") {
      p.kind = Predicate::Kind::kFalse;
      return p;
    }
    if (kind == "SimplePredicate") {
      p.kind = Predicate::Kind::kSimple;
      FERRY_ASSIGN_OR_RETURN(p.field, Field(e, e.attribute("field").as_string()));
      static constexpr std::pair<std::string_view, Predicate::Op> kOps[] = {
          {"equal", Predicate::Op::kEqual},       {"notEqual", Predicate::Op::kNotEqual},
          {"lessThan", Predicate::Op::kLess},     {"lessOrEqual", Predicate::Op::kLessEq},
          {"greaterThan", Predicate::Op::kGreater}, {"greaterOrEqual", Predicate::Op::kGreaterEq},
          {"isMissing", Predicate::Op::kIsMissing}, {"isNotMissing", Predicate::Op::kIsNotMissing}};
      const std::string_view op = e.attribute("operator").as_string();
      const auto* found = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& o) { return o.first == op; });
      if (found == std::end(kOps)) return Fail(e, fmt::format("operator '{}' is not supported", op));
      p.op = found->second;
      if (p.op != Predicate::Op::kIsMissing && p.op != Predicate::Op::kIsNotMissing) {
        const auto value = Number(e.attribute("value").as_string());
        if (!value) return Fail(e, "ferry's PMML input is numeric: the value must be a number");
        p.value = *value;
      }
      return p;
    }
    if (kind == "SimpleSetPredicate") {
      p.kind = Predicate::Kind::kSet;
      FERRY_ASSIGN_OR_RETURN(p.field, Field(e, e.attribute("field").as_string()));
      p.is_in = std::string_view(e.attribute("booleanOperator").as_string()) != "isNotIn";
      std::string_view text = e.child_value("Array");
      while (!text.empty()) {
        const auto start = text.find_first_not_of(" \t\r\n\"");
        if (start == std::string_view::npos) break;
        text.remove_prefix(start);
        const auto end = text.find_first_of(" \t\r\n\"");
        const auto value = Number(text.substr(0, end));
        if (!value) return Fail(e, "ferry's PMML input is numeric: the Array must hold numbers");
        p.values.push_back(*value);
        if (end == std::string_view::npos) break;
        text.remove_prefix(end);
      }
      return p;
    }
    if (kind == "CompoundPredicate") {
      const std::string_view op = e.attribute("booleanOperator").as_string();
      p.kind = op == "and" ? Predicate::Kind::kAnd : op == "or" ? Predicate::Kind::kOr
               : op == "xor" ? Predicate::Kind::kXor : op == "surrogate" ? Predicate::Kind::kSurrogate
                             : Predicate::Kind::kTrue;
      if (p.kind == Predicate::Kind::kTrue) return Fail(e, fmt::format("booleanOperator '{}' is not supported", op));
      for (pugi::xml_node c : e.children()) {
        if (c.type() != pugi::node_element || std::string_view(c.name()) == "Extension") continue;
        FERRY_ASSIGN_OR_RETURN(auto part, CompilePredicate(c));
        p.parts.push_back(std::move(part));
      }
      if (p.parts.size() < 2) return Fail(e, "needs two or more predicates");
      return p;
    }
    return Unsupported(e);
  }

  std::size_t Category(std::string_view value) {
    auto it = std::find(out_.categories.begin(), out_.categories.end(), value);
    if (it != out_.categories.end()) return static_cast<std::size_t>(it - out_.categories.begin());
    out_.categories.emplace_back(value);
    return out_.categories.size() - 1;
  }

  Result<TreeNode> CompileNode(const pugi::xml_node& e, int depth) {
    if (depth > 200) return Fail(e, "the tree is deeper than 200 levels");
    TreeNode node;
    bool has_predicate = false;
    std::vector<std::pair<std::size_t, double>> counts;  // (category, recordCount or probability)
    bool probabilities = false;
    const std::string default_child = e.attribute("defaultChild").as_string();
    for (pugi::xml_node c : e.children()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view kind = c.name();
      if (kind == "Extension" || kind == "Partition") continue;
      if (kind == "Node") {
        FERRY_ASSIGN_OR_RETURN(auto child, CompileNode(c, depth + 1));
        if (!default_child.empty() && default_child == c.attribute("id").as_string()) {
          node.default_child = static_cast<std::ptrdiff_t>(node.children.size());
        }
        node.children.push_back(std::move(child));
      } else if (kind == "ScoreDistribution") {
        if (!out_.classification) continue;
        const std::size_t category = Category(c.attribute("value").as_string());
        if (c.attribute("probability")) {
          probabilities = true;
          counts.emplace_back(category, c.attribute("probability").as_double());
        } else {
          counts.emplace_back(category, c.attribute("recordCount").as_double());
        }
      } else if (!has_predicate) {
        FERRY_ASSIGN_OR_RETURN(node.predicate, CompilePredicate(c));
        has_predicate = true;
      } else {
        return Unsupported(c);
      }
    }
    if (!has_predicate) return Fail(e, "has no predicate");
    if (!default_child.empty() && node.default_child < 0) {
      return Fail(e, fmt::format("defaultChild '{}' is not a child of the node", default_child));
    }
    if (auto score = e.attribute("score")) {
      if (out_.classification) {
        node.score = static_cast<double>(Category(score.as_string()));
      } else {
        const auto value = Number(score.as_string());
        if (!value) return Fail(e, fmt::format("score '{}' is not a number", score.as_string()));
        node.score = *value;
      }
    }
    if (!counts.empty()) {
      double total = 0;
      for (const auto& [_, n] : counts) total += n;
      node.distribution.assign(out_.categories.size(), 0.0);
      for (const auto& [category, n] : counts) {
        if (category >= node.distribution.size()) node.distribution.resize(category + 1, 0.0);
        node.distribution[category] = probabilities || total <= 0 ? n : n / total;
      }
    }
    return node;
  }

  Result<void> Tree(const pugi::xml_node& model) {
    const std::string_view function = model.attribute("functionName").as_string();
    if (function != "regression" && function != "classification") {
      return Fail(model, fmt::format("functionName '{}' is not regression or classification", function));
    }
    out_.classification = function == "classification";
    const std::string_view missing = model.attribute("missingValueStrategy").as_string("none");
    if (missing == "none") {
      out_.missing_strategy = MissingStrategy::kNone;
    } else if (missing == "lastPrediction") {
      out_.missing_strategy = MissingStrategy::kLastPrediction;
    } else if (missing == "nullPrediction") {
      out_.missing_strategy = MissingStrategy::kNullPrediction;
    } else if (missing == "defaultChild") {
      out_.missing_strategy = MissingStrategy::kDefaultChild;
    } else {
      return Fail(model, fmt::format("missingValueStrategy '{}' is not supported", missing));
    }
    const std::string_view no_true = model.attribute("noTrueChildStrategy").as_string("returnNullPrediction");
    if (no_true != "returnNullPrediction" && no_true != "returnLastPrediction") {
      return Fail(model, fmt::format("noTrueChildStrategy '{}' is not supported", no_true));
    }
    out_.no_true_child_null = no_true == "returnNullPrediction";
    pugi::xml_node root;
    for (pugi::xml_node c : model.children()) {
      const std::string_view name = c.name();
      if (name == "MiningSchema" || name == "LocalTransformations" || name == "Output" || name == "Extension" ||
          name == "ModelStats" || name == "ModelExplanation" || name == "ModelVerification") {
        continue;
      }
      if (name != "Node" || root) return Unsupported(c);
      root = c;
    }
    if (!root) return Fail(model, "has no Node");
    FERRY_ASSIGN_OR_RETURN(auto tree, CompileNode(root, 0));
    out_.tree = std::move(tree);
    if (out_.classification && out_.categories.empty()) return Fail(model, "a classification tree names no category");
    return {};
  }

  std::string_view xml_;
  std::string source_;
  CompiledPmml::Impl& out_;
  std::map<std::string, std::size_t, std::less<>> fields_;
};

}  // namespace

CompiledPmml::CompiledPmml() : impl_(std::make_unique<Impl>()) {}
CompiledPmml::~CompiledPmml() = default;

Result<std::unique_ptr<CompiledPmml>> CompiledPmml::Compile(std::string_view xml, std::string_view source) {
  std::unique_ptr<CompiledPmml> compiled(new CompiledPmml());
  Compiler compiler(xml, source, *compiled->impl_);
  FERRY_RETURN_IF_ERROR(compiler.Run());
  return compiled;
}

const std::vector<std::string>& CompiledPmml::inputs() const { return impl_->inputs; }
bool CompiledPmml::classification() const { return impl_->classification; }
const std::vector<std::string>& CompiledPmml::categories() const { return impl_->categories; }

namespace {

// Walks the tree for one row; writes the score (regression) or the probabilities of the
// categories (classification: the leaf's ScoreDistribution, or one-hot of its score). A null
// prediction writes NaN.
void EvaluateTree(const CompiledPmml::Impl& m, const double* v, double* y, std::size_t k) {
  const TreeNode* node = &*m.tree;
  const TreeNode* result = nullptr;
  if (node->predicate.Test(v) == Truth::kTrue) {
    result = node;
    while (!node->children.empty()) {
      const TreeNode* next = nullptr;
      bool unknown = false;
      for (const auto& child : node->children) {
        const Truth t = child.predicate.Test(v);
        if (t == Truth::kTrue) {
          next = &child;
          break;
        }
        if (t == Truth::kUnknown) {
          unknown = true;
          if (m.missing_strategy != MissingStrategy::kNone) break;
        }
      }
      if (!next && unknown && m.missing_strategy != MissingStrategy::kNone) {
        if (m.missing_strategy == MissingStrategy::kNullPrediction) result = nullptr;
        if (m.missing_strategy == MissingStrategy::kDefaultChild && node->default_child >= 0) {
          next = &node->children[static_cast<std::size_t>(node->default_child)];
        } else {
          break;  // lastPrediction: this node; nullPrediction: none
        }
      }
      if (!next) {
        if (m.no_true_child_null) result = nullptr;
        break;
      }
      node = next;
      result = node;
    }
  }
  if (!result) {
    std::fill(y, y + k, kMissing);
    return;
  }
  if (!m.classification) {
    y[0] = result->score;
    return;
  }
  if (!result->distribution.empty()) {
    for (std::size_t j = 0; j < k; ++j) y[j] = j < result->distribution.size() ? result->distribution[j] : 0.0;
  } else {
    for (std::size_t j = 0; j < k; ++j) y[j] = static_cast<double>(j) == result->score ? 1.0 : 0.0;
  }
}

}  // namespace

void CompiledPmml::Evaluate(const double* in, std::size_t rows, double* out) const {
  const Impl& m = *impl_;
  const std::size_t n = m.inputs.size();
  const std::size_t k = m.tree ? (m.classification ? m.categories.size() : 1) : m.classification ? m.tables.size() : 1;
  std::vector<double> values(m.slots);  // one allocation a call, not a row
  for (std::size_t r = 0; r < rows; ++r) {
    const double* row = in + r * n;
    for (std::size_t i = 0; i < n; ++i) values[i] = std::isnan(row[i]) ? m.replacement[i] : row[i];
    for (const auto& [slot, node] : m.derived) values[slot] = Eval(node, values.data());
    double* y = out + r * k;
    if (m.tree) {
      EvaluateTree(m, values.data(), y, k);
      continue;
    }
    if (!m.classification) {
      y[0] = Link(m.normalization, m.tables[0].Score(values.data()));
      continue;
    }
    for (std::size_t j = 0; j < k; ++j) y[j] = m.tables[j].Score(values.data());
    if (m.normalization == Normalization::kSoftmax || m.normalization == Normalization::kSimplemax) {
      const double top = *std::max_element(y, y + k);
      double sum = 0;
      for (std::size_t j = 0; j < k; ++j) {
        if (m.normalization == Normalization::kSoftmax) y[j] = std::exp(y[j] - top);
        sum += y[j];
      }
      for (std::size_t j = 0; j < k; ++j) y[j] /= sum;
    } else {
      // The first K-1 through the link; the last takes what is left (binary: the usual case).
      double sum = 0;
      for (std::size_t j = 0; j + 1 < k; ++j) sum += y[j] = Link(m.normalization, y[j]);
      y[k - 1] = 1 - sum;
    }
  }
}

}  // namespace ferry::backends::pmml
