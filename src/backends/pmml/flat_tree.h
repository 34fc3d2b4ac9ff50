// Flat decision trees (internal to the PMML backend): the fast form of TreeModels of the shape
// exported trees have, and the kernel that sums many of them (forests, boosted trees).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "backends/pmml/compiled.h"

namespace ferry::backends::pmml {

// The common shape of exported trees (XGBoost, scikit-learn, LightGBM through JPMML): every inner
// node splits into two children whose simple predicates on one field are each other's complement
// ("x < 3" and "x >= 3"), so one comparison picks the child. Such a tree is flattened into an
// array with each node's two children side by side, the one taken when `x op value` holds first,
// so a step is a comparison and an add (no predicate dispatch, few unpredictable branches).
struct FlatNode {
  std::uint32_t field = 0;
  Predicate::Op op = Predicate::Op::kLess;  // kLess, kLessEq or kEqual
  std::int32_t children = -1;               // the first of the two; -1: a leaf
  std::int32_t missing = kStop;             // the child when the field is missing, or kStop / kNull
  double value = 0;
  double score = kMissing;                  // the node's score (read without touching the TreeNode)
  const void* result = nullptr;             // the node's TreeNode (tree.cc)

  static constexpr std::int32_t kStop = -1;  // answer with this node
  static constexpr std::int32_t kNull = -2;  // a null prediction
};

struct Less {
  static bool Holds(const FlatNode& n, double x) { return x < n.value; }
};
struct AnyOp {
  static bool Holds(const FlatNode& n, double x) {
    return n.op == Predicate::Op::kLess ? x < n.value : n.op == Predicate::Op::kLessEq ? x <= n.value : x == n.value;
  }
};

struct FlatTree {
  std::vector<FlatNode> nodes;  // nodes[0] is the root
  bool all_less = false;        // every split is "x < value" (XGBoost's)
  // For TreeSHAP (tree_shap.cc): each node's cover (its recordCount, the training rows that
  // reached it; empty when a node lacks one or a leaf has no score) and the tree's depth (edges
  // from the root to the deepest leaf); `width` values a node (a regression's score, or a
  // classification's probability a category: read at leaves) and their expectations (the leaves'
  // values weighted by cover).
  std::vector<double> cover;
  std::size_t depth = 0;
  std::size_t width = 1;
  std::vector<double> values, expected;

  // One step from node `n` for the row `v`: the index of the next node, or, when the split's
  // field is missing and the node has no default child, FlatNode::kStop (answer with `n`) or
  // FlatNode::kNull.
  template <typename Split>
  static std::int32_t Next(const FlatNode& n, const double* v) {
    const double x = v[n.field];
    if (std::isnan(x)) [[unlikely]] return n.missing;
    return n.children + static_cast<std::int32_t>(!Split::Holds(n, x));
  }

  // The answering node for the row `v`, or null for a null prediction.
  template <typename Split>
  const FlatNode* Walk(const double* v) const {
    const FlatNode* n = nodes.data();
    while (n->children >= 0) {
      const std::int32_t next = Next<Split>(*n, v);
      if (next == FlatNode::kNull) return nullptr;
      if (next == FlatNode::kStop) break;
      n = &nodes[static_cast<std::size_t>(next)];
    }
    return n;
  }
};

// The flat form of `model` when it is a flat regression TreeModel that adds nothing around its
// score (no LocalTransformations, Output or Targets), else null.
const FlatTree* AsPlainFlatTree(const Model& model);

// Adds weight * score of each tree for the row `v` into `sum` (weights empty: 1 each), walking
// several trees at once so that their independent memory accesses overlap. A null prediction of
// a tree is skipped, or when `null_is_missing` makes the whole sum null (false returned).
// `count` and `weights_total` count the trees that answered. `all_less`: every tree's all_less.
bool SumFlatTrees(std::span<const FlatTree* const> trees, std::span<const double> weights, bool all_less,
                  const double* v, bool null_is_missing, double& sum, std::size_t& count, double& weights_total);

}  // namespace ferry::backends::pmml
