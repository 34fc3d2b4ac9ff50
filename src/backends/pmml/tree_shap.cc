// Exact contributions of a PMML document's answer (docs/explain.md): each score column as a
// ScoreSum of trees and input terms (the models' Sums), each tree explained by path-dependent
// TreeSHAP (Lundberg et al. 2020, Algorithm 2) over ferry's flattened trees, weighted by the
// training rows that reached each node (recordCount), each input term by its own value.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/pmml/compiler.h"
#include "backends/pmml/flat_tree.h"
#include "backends/pmml/pmml_model.h"

namespace ferry::backends::pmml {

using core::Result;

Result<ScoreSums> Model::TargetSums(const SumContext& context) const {
  if (!treatments.empty()) {
    return core::Unimplemented("a nested model whose MiningSchema treats its inputs for it alone");
  }
  if (cast != Cast::kNone || !std::isnan(default_value) || !priors.empty() ||
      target_min != -std::numeric_limits<double>::infinity() ||
      target_max != std::numeric_limits<double>::infinity()) {
    return core::Unimplemented("Targets that do more than rescale the score");
  }
  FERRY_ASSIGN_OR_RETURN(ScoreSums sums, Sums(context));
  if (rescale_factor != 1 || rescale_constant != 0) {
    if (sums.space != "identity") return core::Unimplemented("Targets rescaling a normalized score");
    for (auto& column : sums.columns) {
      column.Scale(rescale_factor);
      column.constant += rescale_constant;
    }
  }
  return sums;
}

namespace {

// One feature on the path from the root to a node: the share of the training rows (zero) and of
// this row (one: 0 or 1) that follow the path where it splits on the feature, and the weight of
// the subsets of the path's features of each size (the permutation weights).
struct PathElement {
  std::size_t feature;
  double zero, one, weight;
};

// Appends a feature to the path m[0, l) (so m[0, l]), updating the subset weights.
void Extend(PathElement* m, std::size_t l, double zero, double one, std::size_t feature) {
  m[l] = {feature, zero, one, l == 0 ? 1.0 : 0.0};
  const double size = static_cast<double>(l + 1);
  for (std::size_t i = l; i-- > 0;) {
    m[i + 1].weight += one * m[i].weight * static_cast<double>(i + 1) / size;
    m[i].weight = zero * m[i].weight * static_cast<double>(l - i) / size;
  }
}

// Removes element i from the path m[0, l], undoing its Extend.
void Unwind(PathElement* m, std::size_t l, std::size_t i) {
  const double one = m[i].one, zero = m[i].zero, size = static_cast<double>(l + 1);
  double next = m[l].weight;
  for (std::size_t j = l; j-- > 0;) {
    if (one != 0) {
      const double w = m[j].weight;
      m[j].weight = next * size / (static_cast<double>(j + 1) * one);
      next = w - m[j].weight * zero * static_cast<double>(l - j) / size;
    } else {
      m[j].weight = m[j].weight * size / (zero * static_cast<double>(l - j));
    }
  }
  for (std::size_t j = i; j < l; ++j) {
    m[j].feature = m[j + 1].feature;
    m[j].zero = m[j + 1].zero;
    m[j].one = m[j + 1].one;
  }
}

// The total weight of the path m[0, l] were element i unwound (without changing the path).
double UnwoundSum(const PathElement* m, std::size_t l, std::size_t i) {
  const double one = m[i].one, zero = m[i].zero, size = static_cast<double>(l + 1);
  double next = m[l].weight, total = 0;
  for (std::size_t j = l; j-- > 0;) {
    if (one != 0) {
      const double w = next * size / (static_cast<double>(j + 1) * one);
      total += w;
      next = m[j].weight - w * zero * static_cast<double>(l - j) / size;
    } else {
      total += m[j].weight * size / (zero * static_cast<double>(l - j));
    }
  }
  return total;
}

class TreeShap {
 public:
  TreeShap(const FlatTree& tree, std::size_t value, const double* row, double weight, double* phi)
      : tree_(tree), value_(value), row_(row), weight_(weight), phi_(phi) {}

  // Adds weight * the SHAP values of the tree's value `value` for the row into phi. False when the row's walk stops at
  // an inner node (a missing value and no default branch): `stopped` is then that node's field.
  bool Run(std::vector<PathElement>& path, std::size_t& stopped) {
    const std::size_t d = tree_.depth + 2;
    path.resize(d * (d + 1) / 2);
    ok_ = true;
    Recurse(0, path.data(), 0, 1, 1, kNoFeature);
    stopped = stopped_;
    return ok_;
  }

 private:
  static constexpr std::size_t kNoFeature = static_cast<std::size_t>(-1);

  // The node `j` reached by the path parent[0, l), extended by (zero, one, feature); each level
  // works on its own copy of the path, after its parent's.
  void Recurse(std::size_t j, PathElement* parent, std::size_t l, double zero, double one, std::size_t feature) {
    if (!ok_) return;
    PathElement* m = parent + l;
    std::copy(parent, parent + l, m);
    Extend(m, l, zero, one, feature);
    const FlatNode& node = tree_.nodes[j];
    if (node.children < 0) {
      const double leaf = tree_.values[j * tree_.width + value_];
      for (std::size_t i = 1; i <= l; ++i) {
        phi_[m[i].feature] += weight_ * UnwoundSum(m, l, i) * (m[i].one - m[i].zero) * leaf;
      }
      return;
    }
    const std::int32_t next = FlatTree::Next<AnyOp>(node, row_);
    if (next < 0) {  // missing, and no default child: the path-dependent algorithm has no answer
      ok_ = false;
      stopped_ = node.field;
      return;
    }
    const auto hot = static_cast<std::size_t>(next);
    const std::size_t first = static_cast<std::size_t>(node.children);
    const std::size_t cold = hot == first ? first + 1 : first;
    double in_zero = 1, in_one = 1;
    std::size_t k = 1;
    while (k <= l && m[k].feature != node.field) ++k;
    if (k <= l) {  // the feature split before on this path: its element is replaced
      in_zero = m[k].zero;
      in_one = m[k].one;
      Unwind(m, l, k);
      --l;
    }
    const double cover = tree_.cover[j];
    Recurse(hot, m, l + 1, in_zero * tree_.cover[hot] / cover, in_one, node.field);
    // A branch no training row and not this row takes adds nothing (and its fractions are 0).
    if (tree_.cover[cold] > 0) Recurse(cold, m, l + 1, in_zero * tree_.cover[cold] / cover, 0, node.field);
  }

  const FlatTree& tree_;
  const std::size_t value_;
  const double* row_;
  const double weight_;
  double* phi_;
  bool ok_ = true;
  std::size_t stopped_ = 0;
};

}  // namespace

const std::string& CompiledPmml::no_exact_reason() const { return impl_->no_sums; }

Result<CompiledPmml::Explained> CompiledPmml::Explain(const double* in, std::size_t rows) const {
  const Program& p = *impl_;
  if (!p.sums) return core::Unimplemented(fmt::format("no exact explainer: {}", p.no_sums));
  const std::size_t n = p.inputs.size();
  Explained out{.space = p.sums->space, .columns = {}};
  for (const ScoreSum& sum : p.sums->columns) {
    Contributions c{.column = p.model->classification ? sum.category : 0, .base = {}, .values = {}};
    double base = sum.constant;
    for (const auto& t : sum.trees) base += t.weight * t.tree->expected[t.value];
    c.base.assign(rows, base);
    c.values.assign(rows * n, 0.0);
    out.columns.push_back(std::move(c));
  }
  std::vector<double> values(n);
  std::vector<PathElement> path;
  for (std::size_t r = 0; r < rows; ++r) {
    FERRY_RETURN_IF_ERROR(PrepareInputs(p, in + r * n, r, values.data()));
    for (std::size_t c = 0; c < p.sums->columns.size(); ++c) {
      const ScoreSum& sum = p.sums->columns[c];
      double* phi = out.columns[c].values.data() + r * n;
      for (const auto& l : sum.linear) {
        if (std::isnan(values[l.field])) {
          return core::InvalidArgument(fmt::format("row {}: field '{}' is missing (a linear model has no answer)", r,
                                                   p.inputs[l.field].name));
        }
        phi[l.field] += l.coefficient * values[l.field];
      }
      for (const auto& t : sum.trees) {
        std::size_t stopped = 0;
        if (!TreeShap(*t.tree, t.value, values.data(), t.weight, phi).Run(path, stopped)) {
          return core::InvalidArgument(fmt::format(
              "row {}: field '{}' is missing where a tree has no default branch for it (TreeSHAP follows one)", r,
              p.inputs[stopped].name));
        }
      }
    }
  }
  return out;
}

void FindSums(Program& p, std::string& method) {
  auto sums = p.model->TargetSums(SumContext{.inputs = p.inputs.size(), .known = {}});
  if (!sums) {
    p.no_sums = sums.error().message;
    return;
  }
  const auto has = [&](auto member) {
    return std::any_of(sums->columns.begin(), sums->columns.end(), [&](const ScoreSum& s) { return !(s.*member).empty(); });
  };
  const bool trees = has(&ScoreSum::trees), linear = has(&ScoreSum::linear);
  if (trees && linear) {
    p.no_sums = "trees and linear terms together (TreeSHAP and a linear model's reference differ)";
    return;
  }
  method = trees ? "tree_shap" : "linear";
  p.sums = std::move(*sums);
}

}  // namespace ferry::backends::pmml
