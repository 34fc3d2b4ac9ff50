// Combining an ensemble's answers, element by element. Pure functions (unit-tested):
//   mean, weighted_mean  the mean of the members' values (weighted_mean: by member weight)
//   median               the median weighted by member weight: the smallest value whose
//                        cumulative weight passes half of the total; when it reaches exactly half,
//                        the mean of it and the next value -- so equal weights give the usual median
//   majority             the label with the greatest total weight of votes; on a tie, the tied label
//                        voted first in the members' order wins
//   soft_vote            the weighted mean of class probabilities ([rows, classes], or [rows] /
//                        [rows, 1] for the probability of class 1), and the winning class: the
//                        highest (the first on a tie; class 1 when its probability is >= 0.5)
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "routing/router_config.h"

namespace ferry::routing {

double WeightedMean(std::span<const double> values, std::span<const double> weights);
double WeightedMedian(std::span<const double> values, std::span<const double> weights);

// A class label: a number (INT, UINT, BOOL, float classes) or a string (BYTES).
struct Label {
  double number = 0;
  std::string_view text;
  bool is_text = false;
  bool operator==(const Label& other) const {
    return is_text == other.is_text && (is_text ? text == other.text : number == other.number);
  }
};
// The index of a member whose label wins.
std::size_t MajorityVote(std::span<const Label> labels, std::span<const double> weights);

// One member's answer for the aggregated output.
struct Contribution {
  std::string member;
  const core::Tensor* tensor = nullptr;
  double weight = 1;
};

// The aggregated output (named `output`), and for soft_vote the winning class (`label_output`,
// INT64, one a row). The members' tensors must have one datatype and one shape.
core::Result<std::vector<core::Tensor>> Aggregate(AggregateMethod method, std::span<const Contribution> members,
                                                  const std::string& output, const std::string& label_output);

}  // namespace ferry::routing
