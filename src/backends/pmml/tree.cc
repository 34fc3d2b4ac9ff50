// PMML TreeModel: nodes with compiled predicates, walked from the root for each row.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "backends/pmml/compiler.h"
#include "backends/pmml/flat_tree.h"

namespace ferry::backends::pmml {
namespace {

struct TreeNode {
  Predicate predicate;
  double score = kMissing;           // regression, or the category index
  std::vector<double> distribution;  // classification: probability a category (empty: one-hot of score)
  std::vector<TreeNode> children;
  std::ptrdiff_t default_child = -1;  // index into children
  double record_count = kMissing;     // recordCount: the training rows that reached the node
  std::string id;                     // the Node's id attribute ("": its place, see Number)
  EntityId entity;                    // entityId outputs
  std::vector<double> confidence;     // ScoreDistribution confidence by category (NaN: none given)
  std::size_t number = 0;             // pre-order position (TreeModel::nodes)
};

enum class MissingStrategy : std::uint8_t { kNone, kLastPrediction, kNullPrediction, kDefaultChild };

// For complementary predicates a (of the first child) and b: the canonical operator and whether
// the second child is the one taken when it holds. False when they are not complementary.
bool Canonical(Predicate::Op a, Predicate::Op b, Predicate::Op& op, bool& swapped) {
  using Op = Predicate::Op;
  static constexpr struct {
    Op a, b, op;
    bool swapped;
  } kPairs[] = {{Op::kLess, Op::kGreaterEq, Op::kLess, false},  {Op::kGreaterEq, Op::kLess, Op::kLess, true},
                {Op::kLessEq, Op::kGreater, Op::kLessEq, false}, {Op::kGreater, Op::kLessEq, Op::kLessEq, true},
                {Op::kEqual, Op::kNotEqual, Op::kEqual, false}, {Op::kNotEqual, Op::kEqual, Op::kEqual, true}};
  for (const auto& p : kPairs) {
    if (p.a == a && p.b == b) {
      op = p.op;
      swapped = p.swapped;
      return true;
    }
  }
  return false;
}

class TreeModel final : public Model {
 public:
  TreeNode root;
  MissingStrategy missing_strategy = MissingStrategy::kNone;
  bool no_true_child_null = true;  // noTrueChildStrategy returnNullPrediction (the default)
  FlatTree flat;  // no nodes: the tree is not of the flat shape
  std::vector<const TreeNode*> nodes;  // by TreeNode::number

  // Scratch holds the answering node's number, for entityId and confidence outputs.
  std::size_t scratch_size() const override { return 1; }
  bool Gives(OutputField::Feature feature) const override {
    return feature == OutputField::Feature::kEntityId ||
           (classification && feature == OutputField::Feature::kConfidence);
  }
  double Feature(const OutputField& o, const double* y, const double* scratch) const override {
    if (std::isnan(scratch[0])) return kMissing;
    const TreeNode& node = *nodes[static_cast<std::size_t>(scratch[0])];
    if (o.feature == OutputField::Feature::kEntityId) return node.entity.For(o);
    const auto category = static_cast<std::size_t>(o.category >= 0 ? o.category : static_cast<std::ptrdiff_t>(y[categories]));
    return category < node.confidence.size() ? node.confidence[category] : kMissing;
  }

  // Numbers the nodes in pre-order; a Node without an id is known by its number from 1.
  void Number(TreeNode& node, Compiler& c) {
    node.number = nodes.size();
    nodes.push_back(&node);
    node.entity = c.Entity(node.id.empty() ? std::to_string(node.number + 1) : node.id);
    for (auto& child : node.children) Number(child, c);
  }

  // Flattens the tree when every inner node is a complementary binary split (see FlatNode).
  void Flatten() {
    auto& nodes = flat.nodes;
    nodes.assign(1, FlatNode{});
    if (root.predicate.kind != Predicate::Kind::kTrue || !Add(root, 0)) {
      nodes.clear();
      return;
    }
    flat.all_less =
        std::all_of(nodes.begin(), nodes.end(), [](const FlatNode& n) { return n.op == Predicate::Op::kLess; });
    Covers();
  }

  // A classification's leaves give a probability a category: known once the document names every
  // category.
  void SetCategories(const std::vector<double>& values) override {
    Model::SetCategories(values);
    if (classification && !flat.cover.empty()) Values(categories, [&](const TreeNode& n, std::size_t c) {
      return n.distribution.empty() ? (static_cast<double>(c) == n.score ? 1.0 : 0.0)
                                    : (c < n.distribution.size() ? n.distribution[c] : 0.0);
    });
  }

  core::Result<ScoreSums> Sums(const SumContext& context) const override {
    if (flat.nodes.empty()) {
      return core::Unimplemented("a TreeModel whose splits are not pairs of complementary simple predicates");
    }
    if (flat.cover.empty()) {
      return core::Unimplemented("a TreeModel whose Nodes lack recordCount (TreeSHAP weighs paths by it) or a score");
    }
    for (const FlatNode& n : flat.nodes) {
      if (n.children >= 0 && n.field >= context.inputs) {
        return core::Unimplemented("a TreeModel splitting on a derived field");
      }
    }
    ScoreSums sums{.columns = {}, .space = "identity"};  // a regression's score, or each probability
    for (std::size_t v = 0; v < flat.width; ++v) {
      sums.columns.push_back(ScoreSum{.constant = 0, .trees = {{&flat, 1.0, v}}, .linear = {}, .category = v});
    }
    return sums;
  }

 protected:
  bool Score(double* v, double* y, double* scratch) const override {
    scratch[0] = kMissing;
    if (!flat.nodes.empty() && !classification) {
      const FlatNode* n = flat.all_less ? flat.Walk<Less>(v) : flat.Walk<AnyOp>(v);
      if (!n || std::isnan(n->score)) return false;
      y[0] = n->score;
      scratch[0] = static_cast<double>(Answer(n)->number);
      return true;
    }
    const TreeNode* result = flat.nodes.empty() ? Walk(v) : Answer(flat.Walk<AnyOp>(v));
    if (!result || (std::isnan(result->score) && result->distribution.empty())) return false;
    scratch[0] = static_cast<double>(result->number);
    if (!classification) {
      y[0] = result->score;
      return true;
    }
    const auto& d = result->distribution;
    for (std::size_t j = 0; j < categories; ++j) {
      y[j] = d.empty() ? (static_cast<double>(j) == result->score ? 1.0 : 0.0) : (j < d.size() ? d[j] : 0.0);
    }
    // The leaf's `score` is the prediction, whatever ties its ScoreDistribution has.
    if (!std::isnan(result->score)) y[categories] = result->score;
    return true;
  }

 private:
  // FlatTree's cover and depth, when every node has a recordCount (> 0 for a split) and every
  // leaf an answer; a regression's values too. Children come after their parents in `nodes`.
  void Covers() {
    const auto& nodes = flat.nodes;
    std::vector<double> cover(nodes.size());
    std::vector<std::size_t> depth(nodes.size(), 0);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto& node = *static_cast<const TreeNode*>(nodes[i].result);
      cover[i] = node.record_count;
      if (std::isnan(cover[i]) || cover[i] < 0 || (nodes[i].children >= 0 && cover[i] <= 0) ||
          (nodes[i].children < 0 && std::isnan(node.score) && node.distribution.empty())) {
        return;
      }
      if (nodes[i].children >= 0) {
        const auto c = static_cast<std::size_t>(nodes[i].children);
        depth[c] = depth[c + 1] = depth[i] + 1;
      }
    }
    flat.depth = *std::max_element(depth.begin(), depth.end());
    flat.cover = std::move(cover);
    if (!classification) Values(1, [](const TreeNode& n, std::size_t) { return n.score; });
  }

  // FlatTree's `width` values a node (`value(node, v)`, read at leaves) and their expectations.
  template <typename Value>
  void Values(std::size_t width, Value value) {
    const auto& nodes = flat.nodes;
    const auto& cover = flat.cover;
    flat.width = width;
    flat.values.assign(nodes.size() * width, 0.0);
    std::vector<double> mean(nodes.size() * width);
    for (std::size_t i = nodes.size(); i-- > 0;) {
      const std::int32_t c = nodes[i].children;
      for (std::size_t v = 0; v < width; ++v) {
        if (c < 0) {
          mean[i * width + v] = flat.values[i * width + v] = value(*static_cast<const TreeNode*>(nodes[i].result), v);
          continue;
        }
        const auto a = static_cast<std::size_t>(c), b = a + 1;
        mean[i * width + v] = (cover[a] * mean[a * width + v] + cover[b] * mean[b * width + v]) / cover[i];
      }
    }
    flat.expected.assign(mean.begin(), mean.begin() + static_cast<std::ptrdiff_t>(width));
  }

  // Fills flat[index] from `node`, appending its children's subtrees.
  bool Add(const TreeNode& node, std::size_t index) {
    auto& flat = this->flat.nodes;
    flat[index].score = node.score;
    flat[index].result = &node;
    if (node.children.empty()) return true;
    if (node.children.size() != 2) return false;
    const Predicate& a = node.children[0].predicate;
    const Predicate& b = node.children[1].predicate;
    Predicate::Op op;
    bool swapped = false;
    if (a.kind != Predicate::Kind::kSimple || b.kind != Predicate::Kind::kSimple || a.field != b.field ||
        a.value != b.value || !Canonical(a.op, b.op, op, swapped)) {
      return false;
    }
    // What the general walk does when the field is missing (both predicates UNKNOWN).
    const auto children = static_cast<std::int32_t>(flat.size());
    std::int32_t missing = FlatNode::kStop;
    if (missing_strategy == MissingStrategy::kNone) {
      missing = no_true_child_null ? FlatNode::kNull : FlatNode::kStop;
    } else if (missing_strategy == MissingStrategy::kNullPrediction) {
      missing = FlatNode::kNull;
    } else if (missing_strategy == MissingStrategy::kDefaultChild && node.default_child >= 0) {
      missing = children + ((node.default_child == 1) != swapped ? 1 : 0);
    }
    FlatNode& f = flat[index];
    f.field = static_cast<std::uint32_t>(a.field);
    f.op = op;
    f.value = a.value;
    f.children = children;
    f.missing = missing;
    flat.resize(flat.size() + 2);
    const std::size_t first = static_cast<std::size_t>(children);
    return Add(node.children[swapped ? 1 : 0], first) && Add(node.children[swapped ? 0 : 1], first + 1);
  }

  static const TreeNode* Answer(const FlatNode* n) { return n ? static_cast<const TreeNode*>(n->result) : nullptr; }

  // The general walk: the answering node, or null.
  const TreeNode* Walk(const double* v) const {
    const TreeNode* node = &root;
    const TreeNode* result = nullptr;
    if (node->predicate.Test(v) != Truth::kTrue) return nullptr;
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
          if (missing_strategy != MissingStrategy::kNone) break;
        }
      }
      if (!next && unknown && missing_strategy != MissingStrategy::kNone) {
        if (missing_strategy == MissingStrategy::kNullPrediction) return nullptr;
        if (missing_strategy == MissingStrategy::kDefaultChild && node->default_child >= 0) {
          next = &node->children[static_cast<std::size_t>(node->default_child)];
        } else {
          break;  // lastPrediction: this node
        }
      }
      if (!next) return no_true_child_null ? nullptr : result;
      node = next;
      result = node;
    }
    return result;
  }
};

}  // namespace

const FlatTree* AsPlainFlatTree(const Model& model) {
  const auto* tree = dynamic_cast<const TreeModel*>(&model);
  if (!tree || tree->classification || tree->flat.nodes.empty() || !tree->local.empty() ||
      !tree->treatments.empty() || !tree->outputs.empty() || tree->HasTargetProcessing()) {
    return nullptr;
  }
  return &tree->flat;
}

namespace {

// Walks `group` trees (at most kLanes) in lockstep for the row `v`: each step advances every
// unfinished walk by one node, so the CPU overlaps their loads and comparisons.
constexpr std::size_t kLanes = 8;

template <typename Split>
void WalkLanes(const FlatTree* const* trees, std::size_t group, const double* v, const FlatNode** out) {
  const FlatNode* at[kLanes];
  for (std::size_t j = 0; j < group; ++j) at[j] = trees[j]->nodes.data();
  bool active = true;
  while (active) {
    active = false;
    for (std::size_t j = 0; j < group; ++j) {
      const FlatNode* n = at[j];
      if (!n || n->children < 0) continue;
      const std::int32_t next = FlatTree::Next<Split>(*n, v);
      if (next < 0) {  // missing, and no default child: this node answers, or none does
        out[j] = next == FlatNode::kNull ? nullptr : n;
        at[j] = nullptr;
        continue;
      }
      at[j] = &trees[j]->nodes[static_cast<std::size_t>(next)];
      active = true;
    }
  }
  for (std::size_t j = 0; j < group; ++j) {
    if (at[j]) out[j] = at[j];
  }
}

}  // namespace

bool SumFlatTrees(std::span<const FlatTree* const> trees, std::span<const double> weights, bool all_less,
                  const double* v, bool null_is_missing, double& sum, std::size_t& count, double& weights_total) {
  const FlatNode* answers[kLanes];
  for (std::size_t i = 0; i < trees.size(); i += kLanes) {
    const std::size_t group = std::min(kLanes, trees.size() - i);
    if (all_less) {
      WalkLanes<Less>(trees.data() + i, group, v, answers);
    } else {
      WalkLanes<AnyOp>(trees.data() + i, group, v, answers);
    }
    for (std::size_t j = 0; j < group; ++j) {
      const FlatNode* n = answers[j];
      if (!n || std::isnan(n->score)) {
        if (null_is_missing) return false;
        continue;
      }
      const double w = weights.empty() ? 1.0 : weights[i + j];
      sum += w * n->score;
      weights_total += w;
      ++count;
    }
  }
  return true;
}

namespace {

core::Result<TreeNode> CompileNode(Compiler& c, const pugi::xml_node& e, bool classification, int depth) {
  if (depth > 200) return c.Fail(e, "the tree is deeper than 200 levels");
  TreeNode node;
  bool has_predicate = false;
  std::vector<std::pair<std::size_t, double>> counts;  // (category, recordCount or probability)
  bool probabilities = false;
  const std::string default_child = e.attribute("defaultChild").as_string();
  for (pugi::xml_node child : e.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view kind = child.name();
    if (kind == "Extension" || kind == "Partition") continue;
    if (kind == "Node") {
      FERRY_ASSIGN_OR_RETURN(auto compiled, CompileNode(c, child, classification, depth + 1));
      if (!default_child.empty() && default_child == child.attribute("id").as_string()) {
        node.default_child = static_cast<std::ptrdiff_t>(node.children.size());
      }
      node.children.push_back(std::move(compiled));
    } else if (kind == "ScoreDistribution") {
      if (!classification) continue;
      const std::size_t category = c.Category(child.attribute("value").as_string());
      if (auto confidence = child.attribute("confidence")) {
        if (category >= node.confidence.size()) node.confidence.resize(category + 1, kMissing);
        node.confidence[category] = confidence.as_double();
      }
      if (child.attribute("probability")) {
        probabilities = true;
        counts.emplace_back(category, child.attribute("probability").as_double());
      } else {
        counts.emplace_back(category, child.attribute("recordCount").as_double());
      }
    } else if (!has_predicate) {
      FERRY_ASSIGN_OR_RETURN(node.predicate, c.CompilePredicate(child));
      has_predicate = true;
    } else {
      return c.Unsupported(child);
    }
  }
  if (!has_predicate) return c.Fail(e, "has no predicate");
  node.id = e.attribute("id").as_string();
  if (!default_child.empty() && node.default_child < 0) {
    return c.Fail(e, fmt::format("defaultChild '{}' is not a child of the node", default_child));
  }
  if (auto count = e.attribute("recordCount")) {
    const auto value = ParseNumber(count.as_string());
    if (!value) return c.Fail(e, fmt::format("recordCount '{}' is not a number", count.as_string()));
    node.record_count = *value;
  }
  if (auto score = e.attribute("score")) {
    if (classification) {
      node.score = static_cast<double>(c.Category(score.as_string()));
    } else {
      const auto value = ParseNumber(score.as_string());
      if (!value) return c.Fail(e, fmt::format("score '{}' is not a number", score.as_string()));
      node.score = *value;
    }
  }
  if (!counts.empty()) {
    double total = 0;
    for (const auto& [_, n] : counts) total += n;
    for (const auto& [category, n] : counts) {
      if (category >= node.distribution.size()) node.distribution.resize(category + 1, 0.0);
      node.distribution[category] = probabilities || total <= 0 ? n : n / total;
    }
  }
  return node;
}

}  // namespace

core::Result<std::unique_ptr<Model>> Compiler::Tree(const pugi::xml_node& e) {
  auto model = std::make_unique<TreeModel>();
  FERRY_ASSIGN_OR_RETURN(model->classification, IsClassification(e));
  const std::string_view missing = e.attribute("missingValueStrategy").as_string("none");
  static constexpr std::pair<std::string_view, MissingStrategy> kStrategies[] = {
      {"none", MissingStrategy::kNone},
      {"lastPrediction", MissingStrategy::kLastPrediction},
      {"nullPrediction", MissingStrategy::kNullPrediction},
      {"defaultChild", MissingStrategy::kDefaultChild}};
  const auto* s =
      std::find_if(std::begin(kStrategies), std::end(kStrategies), [&](const auto& p) { return p.first == missing; });
  if (s == std::end(kStrategies)) return Fail(e, fmt::format("missingValueStrategy '{}' is not supported", missing));
  model->missing_strategy = s->second;
  const std::string_view no_true = e.attribute("noTrueChildStrategy").as_string("returnNullPrediction");
  if (no_true != "returnNullPrediction" && no_true != "returnLastPrediction") {
    return Fail(e, fmt::format("noTrueChildStrategy '{}' is not supported", no_true));
  }
  model->no_true_child_null = no_true == "returnNullPrediction";
  pugi::xml_node root;
  for (pugi::xml_node c : e.children()) {
    const std::string_view name = c.name();
    if (c.type() != pugi::node_element || IsModelCommonChild(name)) continue;
    if (name != "Node" || root) return Unsupported(c);
    root = c;
  }
  if (!root) return Fail(e, "has no Node");
  FERRY_ASSIGN_OR_RETURN(model->root, CompileNode(*this, root, model->classification, 0));
  model->Number(model->root, *this);
  model->Flatten();
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace ferry::backends::pmml
