// PMML expressions (the content of a DerivedField or a transformedValue OutputField): compiled
// into Expr trees over slots, evaluated one row at a time.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {
namespace {

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
    {"not", Func::kNot, 1, 1}, {"if", Func::kIf, 2, 3}, {"isIn", Func::kIsIn, 2, -1},
    {"isNotIn", Func::kIsNotIn, 2, -1}, {"x-ln1p", Func::kLn1p, 1, 1}, {"ln1p", Func::kLn1p, 1, 1},
    {"x-expm1", Func::kExpm1, 1, 1}, {"expm1", Func::kExpm1, 1, 1},
};

double Boolean(bool b) { return b ? 1.0 : 0.0; }

double Apply(const Expr& n, const double* v) {
  const auto& a = n.args;
  auto arg = [&](std::size_t i) { return Eval(a[i], v); };
  switch (n.func) {
    case Func::kIsMissing: return Boolean(std::isnan(arg(0)));
    case Func::kIsNotMissing: return Boolean(!std::isnan(arg(0)));
    case Func::kIf: {
      const double c = arg(0);
      if (std::isnan(c)) return kMissing;
      return c != 0 ? arg(1) : (a.size() > 2 ? arg(2) : kMissing);
    }
    default: break;
  }
  const double x = arg(0);
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
      case Func::kNot: return std::isnan(x) ? kMissing : Boolean(x == 0);
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
      if (std::isnan(x)) return kMissing;
      bool result = x != 0;
      for (std::size_t i = 1; i < a.size(); ++i) {
        const double y = arg(i);
        if (std::isnan(y)) return kMissing;
        result = n.func == Func::kAnd ? (result && y != 0) : (result || y != 0);
      }
      return Boolean(result);
    }
    case Func::kIsIn:
    case Func::kIsNotIn: {
      if (std::isnan(x)) return kMissing;
      bool found = false;
      for (std::size_t i = 1; i < a.size() && !found; ++i) found = arg(i) == x;
      return Boolean(found == (n.func == Func::kIsIn));
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
    case Func::kThreshold: return Boolean(x > y);
    case Func::kEqual: return Boolean(x == y);
    case Func::kNotEqual: return Boolean(x != y);
    case Func::kLess: return Boolean(x < y);
    case Func::kLessEq: return Boolean(x <= y);
    case Func::kGreater: return Boolean(x > y);
    case Func::kGreaterEq: return Boolean(x >= y);
    default: return kMissing;
  }
}

bool InBin(const Expr::Bin& b, double x) {
  const bool above = b.left_closed ? x >= b.left : x > b.left;
  const bool below = b.right_closed ? x <= b.right : x < b.right;
  return above && below;
}

// The local name of an element or column ("data:input" -> "input").
std::string_view LocalName(std::string_view name) {
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

}  // namespace

double Eval(const Expr& n, const double* v) {
  switch (n.op) {
    case Expr::Op::kConst: return n.value;
    case Expr::Op::kLet: {
      // The parameters' slots are the call's own, in the row array the evaluator owns (written
      // here, read by the body just after).
      auto* row = const_cast<double*>(v);
      for (std::size_t i = 0; i < n.key_fields.size(); ++i) row[n.key_fields[i]] = Eval(n.args[i], v);
      return Eval(n.args.back(), v);
    }
    case Expr::Op::kField: return v[n.field];
    case Expr::Op::kApply: return Apply(n, v);
    case Expr::Op::kNorm: {
      const double x = v[n.field];
      if (std::isnan(x)) return n.value;
      const auto& p = n.pairs;
      std::size_t i = 1;
      while (i + 1 < p.size() && x > p[i].first) ++i;  // the segment holding x (extrapolating at the ends)
      const auto& [x0, y0] = p[i - 1];
      const auto& [x1, y1] = p[i];
      return y0 + (x - x0) * (y1 - y0) / (x1 - x0);
    }
    case Expr::Op::kNormDiscrete: {
      const double x = v[n.field];
      if (std::isnan(x)) return n.fallback;  // mapMissingTo
      return Boolean(x == n.value);
    }
    case Expr::Op::kDiscretize: {
      const double x = v[n.field];
      if (std::isnan(x)) return n.value;
      for (const auto& b : n.bins) {
        if (InBin(b, x)) return b.value;
      }
      return n.fallback;
    }
    case Expr::Op::kMapValues: {
      if (!n.key_fields.empty()) {
        const std::size_t keys = n.key_fields.size();
        for (std::size_t f : n.key_fields) {
          if (std::isnan(v[f])) return n.value;
        }
        for (std::size_t row = 0; row < n.key_rows.size(); row += keys + 1) {
          std::size_t j = 0;
          while (j < keys && n.key_rows[row + j] == v[n.key_fields[j]]) ++j;
          if (j == keys) return n.key_rows[row + keys];
        }
        return n.fallback;
      }
      const double x = v[n.field];
      if (std::isnan(x)) return n.value;
      auto it = std::lower_bound(n.pairs.begin(), n.pairs.end(), x, [](const auto& p, double k) { return p.first < k; });
      return it != n.pairs.end() && it->first == x ? it->second : n.fallback;
    }
  }
  return kMissing;
}

core::Result<Expr> Compiler::Expression(const pugi::xml_node& e) {
  const std::string_view kind = e.name();
  Expr n;
  // A value this expression produces (a constant, a bin, a mapped value): a number, or a string's
  // code when the attribute dataType says string or the text is not a number.
  auto output = [&](std::string_view text, const pugi::xml_node& at) -> double {
    if (std::string_view(at.attribute("dataType").as_string()) != "string") {
      if (auto d = ParseNumber(text)) return *d;
    }
    n.strings = true;
    return StringCode(text);
  };
  auto optional_output = [&](const char* attribute) -> double {
    const auto a = e.attribute(attribute);
    return a ? output(a.as_string(), e) : kMissing;
  };
  if (kind == "Constant") {
    if (e.attribute("missing").as_bool(false)) {
      n.value = kMissing;
    } else {
      n.value = output(e.child_value(), e);
    }
    return n;
  }
  if (kind == "FieldRef") {
    n.op = Expr::Op::kField;
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(e, e.attribute("field").as_string()));
    n.field = field.slot;
    n.strings = field.is_string;
    if (e.attribute("mapMissingTo")) {
      // FieldRef with mapMissingTo: if(isMissing(x), value, x).
      Expr test{.op = Expr::Op::kApply, .func = Func::kIsMissing};
      test.args.push_back(n);
      Expr replacement{.value = output(e.attribute("mapMissingTo").as_string(), e)};
      Expr choice{.op = Expr::Op::kApply, .func = Func::kIf};
      choice.strings = n.strings;
      choice.args = {std::move(test), std::move(replacement), n};
      return choice;
    }
    return n;
  }
  if (kind == "NormContinuous") {
    n.op = Expr::Op::kNorm;
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(e, e.attribute("field").as_string()));
    n.field = field.slot;
    n.value = e.attribute("mapMissingTo") ? e.attribute("mapMissingTo").as_double() : kMissing;
    if (e.attribute("outliers") && std::string_view(e.attribute("outliers").as_string()) != "asIs") {
      return Fail(e, fmt::format("outliers '{}' is not supported (only asIs)", e.attribute("outliers").as_string()));
    }
    for (pugi::xml_node p : e.children("LinearNorm")) {
      n.pairs.emplace_back(p.attribute("orig").as_double(), p.attribute("norm").as_double());
    }
    if (n.pairs.size() < 2 || !std::is_sorted(n.pairs.begin(), n.pairs.end())) {
      return Fail(e, "needs two or more LinearNorm in ascending orig");
    }
    return n;
  }
  if (kind == "NormDiscrete") {
    n.op = Expr::Op::kNormDiscrete;
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(e, e.attribute("field").as_string()));
    n.field = field.slot;
    FERRY_ASSIGN_OR_RETURN(n.value, ValueFor(e, field, e.attribute("value").as_string()));
    n.fallback = e.attribute("mapMissingTo") ? e.attribute("mapMissingTo").as_double() : kMissing;
    return n;
  }
  if (kind == "Discretize") {
    n.op = Expr::Op::kDiscretize;
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(e, e.attribute("field").as_string()));
    n.field = field.slot;
    n.value = optional_output("mapMissingTo");
    n.fallback = optional_output("defaultValue");
    for (pugi::xml_node b : e.children()) {
      if (b.type() != pugi::node_element || std::string_view(b.name()) == "Extension") continue;
      if (std::string_view(b.name()) != "DiscretizeBin") return Unsupported(b);
      const pugi::xml_node interval = b.child("Interval");
      if (!interval) return Fail(b, "has no Interval");
      const std::string_view closure = interval.attribute("closure").as_string();
      if (closure != "openClosed" && closure != "openOpen" && closure != "closedOpen" && closure != "closedClosed") {
        return Fail(interval, fmt::format("closure '{}' is not one of openClosed, openOpen, closedOpen, closedClosed",
                                          closure));
      }
      const double inf = std::numeric_limits<double>::infinity();
      n.bins.push_back({.left = interval.attribute("leftMargin") ? interval.attribute("leftMargin").as_double() : -inf,
                        .right = interval.attribute("rightMargin") ? interval.attribute("rightMargin").as_double() : inf,
                        .left_closed = closure.starts_with("closed"),
                        .right_closed = closure.ends_with("Closed"),
                        .value = output(b.attribute("binValue").as_string(), e)});
    }
    return n;
  }
  if (kind == "MapValues") {
    n.op = Expr::Op::kMapValues;
    // (field, column) a key; columns are matched by local name (`data:input` and <data:input>).
    std::vector<std::pair<FieldInfo, std::string_view>> keys;
    for (pugi::xml_node pair : e.children("FieldColumnPair")) {
      FERRY_ASSIGN_OR_RETURN(const auto field, Field(pair, pair.attribute("field").as_string()));
      keys.emplace_back(field, LocalName(pair.attribute("column").as_string()));
    }
    if (keys.empty()) return Fail(e, "has no FieldColumnPair");
    n.value = optional_output("mapMissingTo");
    n.fallback = optional_output("defaultValue");
    const std::string_view out_column = LocalName(e.attribute("outputColumn").as_string());
    const pugi::xml_node table = e.child("InlineTable");
    if (!table) return Fail(e, "ferry supports MapValues with an InlineTable (not a TableLocator)");
    if (keys.size() > 1) {
      for (const auto& [field, _] : keys) n.key_fields.push_back(field.slot);
    } else {
      n.field = keys[0].first.slot;
    }
    for (pugi::xml_node row : table.children("row")) {
      pugi::xml_node out;
      std::vector<pugi::xml_node> in(keys.size());
      for (pugi::xml_node c : row.children()) {
        const std::string_view column = LocalName(c.name());
        if (column == out_column) out = c;
        for (std::size_t k = 0; k < keys.size(); ++k) {
          if (column == keys[k].second) in[k] = c;
        }
      }
      for (std::size_t k = 0; k < keys.size(); ++k) {
        if (!in[k]) return Fail(row, fmt::format("has no '{}' column", keys[k].second));
      }
      if (!out) return Fail(row, fmt::format("has no '{}' column (the outputColumn)", out_column));
      const double value = output(out.child_value(), e);
      if (keys.size() == 1) {
        FERRY_ASSIGN_OR_RETURN(const double key, ValueFor(row, keys[0].first, in[0].child_value()));
        n.pairs.emplace_back(key, value);
        continue;
      }
      for (std::size_t k = 0; k < keys.size(); ++k) {
        FERRY_ASSIGN_OR_RETURN(const double key, ValueFor(row, keys[k].first, in[k].child_value()));
        n.key_rows.push_back(key);
      }
      n.key_rows.push_back(value);
    }
    std::sort(n.pairs.begin(), n.pairs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return n;
  }
  if (kind == "Apply") {
    const std::string_view name = e.attribute("function").as_string();
    const auto* spec = std::find_if(std::begin(kFunctions), std::end(kFunctions),
                                    [&](const FuncSpec& f) { return f.name == name; });
    if (spec == std::end(kFunctions)) {
      if (auto function = functions_.find(name); function != functions_.end()) return CallFunction(e, function->second);
      return Fail(e, fmt::format("function '{}' is not supported (nor defined by a DefineFunction)", name));
    }
    if (e.attribute("mapMissingTo") || e.attribute("defaultValue")) {
      return Fail(e, "mapMissingTo and defaultValue on Apply are not supported");
    }
    n.op = Expr::Op::kApply;
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
    // if(c, a, b) yields what its branches yield; every other function a number or a boolean.
    n.strings = n.func == Func::kIf &&
                std::any_of(n.args.begin() + 1, n.args.end(), [](const Expr& a) { return a.strings; });
    return n;
  }
  return Unsupported(e);
}

core::Result<Expr> Compiler::CallFunction(const pugi::xml_node& apply, const pugi::xml_node& function) {
  const std::string name = function.attribute("name").as_string();
  if (std::find(calling_.begin(), calling_.end(), name) != calling_.end()) {
    return Fail(apply, fmt::format("function '{}' calls itself", name));
  }
  if (apply.attribute("mapMissingTo") || apply.attribute("defaultValue")) {
    return Fail(apply, "mapMissingTo and defaultValue on Apply are not supported");
  }
  std::vector<std::string> parameters;
  pugi::xml_node body;
  for (pugi::xml_node c : function.children()) {
    if (c.type() != pugi::node_element || std::string_view(c.name()) == "Extension") continue;
    if (std::string_view(c.name()) == "ParameterField") {
      parameters.emplace_back(c.attribute("name").as_string());
    } else {
      body = c;
    }
  }
  if (!body) return Fail(function, "has no expression");
  Expr call{.op = Expr::Op::kLet};
  for (pugi::xml_node c : apply.children()) {
    if (c.type() != pugi::node_element || std::string_view(c.name()) == "Extension") continue;
    FERRY_ASSIGN_OR_RETURN(auto arg, Expression(c));
    call.args.push_back(std::move(arg));
  }
  if (call.args.size() != parameters.size()) {
    return Fail(apply, fmt::format("function '{}' takes {} argument(s), has {}", name, parameters.size(),
                                   call.args.size()));
  }
  // The parameters are fields while the body compiles, each in a slot of this call's own.
  std::vector<std::pair<std::string, std::optional<FieldInfo>>> shadowed;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    auto it = fields_.find(parameters[i]);
    shadowed.emplace_back(parameters[i], it == fields_.end() ? std::nullopt : std::optional<FieldInfo>(it->second));
    call.key_fields.push_back(NewSlot(parameters[i], call.args[i].strings));
  }
  calling_.push_back(name);
  auto compiled = Expression(body);
  calling_.pop_back();
  for (const auto& [parameter, before] : shadowed) {
    if (before) {
      fields_.insert_or_assign(parameter, *before);
    } else {
      fields_.erase(parameter);
    }
  }
  if (!compiled) return std::unexpected(compiled.error());
  call.strings = compiled->strings;
  call.args.push_back(std::move(*compiled));
  return call;
}

}  // namespace ferry::backends::pmml
