// PMML predicates (of tree nodes and segments): TRUE, FALSE or UNKNOWN when a missing value is
// compared, as the PMML specification's three-valued logic says.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "backends/pmml/compiler.h"

namespace ferry::backends::pmml {

Truth Predicate::Test(const double* v) const {
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

std::vector<std::string> ArrayItems(std::string_view text) {
  std::vector<std::string> items;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    std::string item;
    if (text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        item += text[i];
      }
      ++i;  // the closing quote
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) item += text[i++];
    }
    items.push_back(std::move(item));
  }
  return items;
}

core::Result<Predicate> Compiler::CompilePredicate(const pugi::xml_node& e) {
  const std::string_view kind = e.name();
  Predicate p;
  if (kind == "True") return p;
  if (kind == "False") {
    p.kind = Predicate::Kind::kFalse;
    return p;
  }
  if (kind == "SimplePredicate") {
    p.kind = Predicate::Kind::kSimple;
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(e, e.attribute("field").as_string()));
    p.field = field.slot;
    static constexpr std::pair<std::string_view, Predicate::Op> kOps[] = {
        {"equal", Predicate::Op::kEqual},         {"notEqual", Predicate::Op::kNotEqual},
        {"lessThan", Predicate::Op::kLess},       {"lessOrEqual", Predicate::Op::kLessEq},
        {"greaterThan", Predicate::Op::kGreater}, {"greaterOrEqual", Predicate::Op::kGreaterEq},
        {"isMissing", Predicate::Op::kIsMissing}, {"isNotMissing", Predicate::Op::kIsNotMissing}};
    const std::string_view op = e.attribute("operator").as_string();
    const auto* found = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& o) { return o.first == op; });
    if (found == std::end(kOps)) return Fail(e, fmt::format("operator '{}' is not supported", op));
    p.op = found->second;
    if (p.op != Predicate::Op::kIsMissing && p.op != Predicate::Op::kIsNotMissing) {
      FERRY_ASSIGN_OR_RETURN(p.value, ValueFor(e, field, e.attribute("value").as_string()));
    }
    return p;
  }
  if (kind == "SimpleSetPredicate") {
    p.kind = Predicate::Kind::kSet;
    FERRY_ASSIGN_OR_RETURN(const auto field, Field(e, e.attribute("field").as_string()));
    p.field = field.slot;
    const std::string_view op = e.attribute("booleanOperator").as_string();
    if (op != "isIn" && op != "isNotIn") return Fail(e, fmt::format("booleanOperator '{}' is not isIn or isNotIn", op));
    p.is_in = op == "isIn";
    for (const auto& item : ArrayItems(e.child_value("Array"))) {
      FERRY_ASSIGN_OR_RETURN(const double value, ValueFor(e, field, item));
      p.values.push_back(value);
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

}  // namespace ferry::backends::pmml
