#include "routing/aggregate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace ferry::routing {
namespace {

bool Numeric(core::DataType type) {
  return type != core::DataType::kBytes && type != core::DataType::kFp16 && type != core::DataType::kBf16;
}

// A tensor of `shape` in FP32 (when every member answered FP32) or FP64, from `values`.
core::Result<core::Tensor> RealTensor(const std::string& name, bool fp32, const core::Shape& shape,
                                      const std::vector<double>& values) {
  FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(name, fp32 ? core::DataType::kFp32 : core::DataType::kFp64, shape));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (fp32) {
      t.values<float>()[i] = static_cast<float>(values[i]);
    } else {
      t.values<double>()[i] = values[i];
    }
  }
  return t;
}

}  // namespace

double WeightedMean(std::span<const double> values, std::span<const double> weights) {
  double sum = 0, total = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    sum += values[i] * weights[i];
    total += weights[i];
  }
  return total > 0 ? sum / total : 0;
}

double WeightedMedian(std::span<const double> values, std::span<const double> weights) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  double total = 0;
  for (double w : weights) total += w;
  const double half = total / 2;
  double cumulative = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    cumulative += weights[order[k]];
    if (cumulative > half) return values[order[k]];
    if (cumulative == half && k + 1 < order.size()) return (values[order[k]] + values[order[k + 1]]) / 2;
  }
  return order.empty() ? 0 : values[order.back()];
}

std::size_t MajorityVote(std::span<const Label> labels, std::span<const double> weights) {
  std::size_t best = 0;
  double best_weight = -1;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    bool seen = false;  // an earlier member voted the same: that one already counted it
    for (std::size_t j = 0; j < i && !seen; ++j) seen = labels[j] == labels[i];
    if (seen) continue;
    double weight = 0;
    for (std::size_t j = i; j < labels.size(); ++j) {
      if (labels[j] == labels[i]) weight += weights[j];
    }
    if (weight > best_weight) {  // strictly: a tie keeps the label voted first
      best_weight = weight;
      best = i;
    }
  }
  return best;
}

core::Result<std::vector<core::Tensor>> Aggregate(AggregateMethod method, std::span<const Contribution> members,
                                                  const std::string& output, const std::string& label_output) {
  if (members.empty()) return core::Internal("no member answered");
  const core::Tensor& first = *members.front().tensor;
  bool fp32 = true;
  for (const auto& m : members) {
    const core::Tensor& t = *m.tensor;
    if (t.type() != first.type() || t.shape() != first.shape()) {
      return core::Internal(fmt::format("members disagree on output '{}': '{}' answered {} {}, '{}' answered {} {}",
                                        output, members.front().member, core::DataTypeName(first.type()),
                                        first.shape().ToString(), m.member, core::DataTypeName(t.type()),
                                        t.shape().ToString()));
    }
    fp32 &= t.type() == core::DataType::kFp32;
  }
  if (method != AggregateMethod::kMajority && !Numeric(first.type())) {
    return core::InvalidArgument(fmt::format("output '{}' is {}; {} needs numbers", output,
                                             core::DataTypeName(first.type()), AggregateMethodName(method)));
  }
  const auto count = static_cast<std::size_t>(first.element_count());
  std::vector<double> weights;
  for (const auto& m : members) weights.push_back(method == AggregateMethod::kMean ? 1.0 : m.weight);
  std::vector<double> column(members.size());
  std::vector<core::Tensor> out;
  switch (method) {
    case AggregateMethod::kMean:
    case AggregateMethod::kWeightedMean:
    case AggregateMethod::kMedian: {
      std::vector<double> values(count);
      for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t m = 0; m < members.size(); ++m) column[m] = core::ElementAsDouble(*members[m].tensor, i);
        values[i] = method == AggregateMethod::kMedian ? WeightedMedian(column, weights) : WeightedMean(column, weights);
      }
      FERRY_ASSIGN_OR_RETURN(auto t, RealTensor(output, fp32, first.shape(), values));
      out.push_back(std::move(t));
      return out;
    }
    case AggregateMethod::kSoftVote: {
      std::vector<double> values(count);
      for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t m = 0; m < members.size(); ++m) column[m] = core::ElementAsDouble(*members[m].tensor, i);
        values[i] = WeightedMean(column, weights);
      }
      const auto& dims = first.shape().dims();
      const std::size_t classes = dims.size() >= 2 ? static_cast<std::size_t>(dims.back()) : 1;
      const std::size_t rows = classes == 0 ? 0 : count / classes;
      FERRY_ASSIGN_OR_RETURN(auto label, core::Tensor::Allocate(label_output, core::DataType::kInt64,
                                                                core::Shape{static_cast<std::int64_t>(rows)}));
      for (std::size_t r = 0; r < rows; ++r) {
        std::int64_t winner = 0;
        if (classes == 1) {
          winner = values[r] >= 0.5 ? 1 : 0;
        } else {
          for (std::size_t k = 1; k < classes; ++k) {
            if (values[r * classes + k] > values[r * classes + static_cast<std::size_t>(winner)]) {
              winner = static_cast<std::int64_t>(k);
            }
          }
        }
        label.values<std::int64_t>()[r] = winner;
      }
      FERRY_ASSIGN_OR_RETURN(auto probabilities, RealTensor(output, fp32, first.shape(), values));
      out.push_back(std::move(probabilities));
      out.push_back(std::move(label));
      return out;
    }
    case AggregateMethod::kMajority: {
      std::vector<Label> labels(members.size());
      if (first.type() == core::DataType::kBytes) {
        std::vector<std::vector<std::string_view>> texts(members.size());
        for (std::size_t m = 0; m < members.size(); ++m) {
          core::ForEachBytesElement(members[m].tensor->bytes(), [&](std::string_view e) { texts[m].push_back(e); });
          if (texts[m].size() != count) return core::Internal(fmt::format("output '{}' of '{}' is malformed", output, members[m].member));
        }
        std::vector<std::string_view> winners(count);
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < count; ++i) {
          for (std::size_t m = 0; m < members.size(); ++m) labels[m] = Label{.number = 0, .text = texts[m][i], .is_text = true};
          winners[i] = texts[MajorityVote(labels, weights)][i];
          bytes += 4 + winners[i].size();
        }
        auto t = core::Tensor::AllocateBytes(output, core::DataType::kBytes, first.shape(), bytes);
        std::byte* p = t.bytes().data();
        for (auto w : winners) p += core::WriteBytesElement(p, w);
        out.push_back(std::move(t));
        return out;
      }
      FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(output, first.type(), first.shape()));
      const std::size_t size = core::DataTypeSize(first.type());
      for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t m = 0; m < members.size(); ++m) {
          labels[m] = Label{.number = core::ElementAsDouble(*members[m].tensor, i), .text = {}, .is_text = false};
        }
        const std::size_t winner = MajorityVote(labels, weights);
        std::memcpy(t.bytes().data() + i * size, members[winner].tensor->bytes().data() + i * size, size);
      }
      out.push_back(std::move(t));
      return out;
    }
  }
  return core::Internal("unknown aggregate method");
}

}  // namespace ferry::routing
