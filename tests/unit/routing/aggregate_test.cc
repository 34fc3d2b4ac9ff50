// Ensemble aggregation: means, the weighted median, the vote and its tie-break, soft voting.
#include "routing/aggregate.h"

#include <gtest/gtest.h>

#include <vector>

namespace ferry::routing {
namespace {

using core::DataType;
using core::Shape;
using core::Tensor;

Tensor Fp32(std::vector<float> values, Shape shape) {
  auto t = Tensor::Allocate("p", DataType::kFp32, std::move(shape)).value();
  for (std::size_t i = 0; i < values.size(); ++i) t.values<float>()[i] = values[i];
  return t;
}

Tensor Int64(std::vector<std::int64_t> values) {
  auto t = Tensor::Allocate("label", DataType::kInt64, Shape{static_cast<std::int64_t>(values.size())}).value();
  for (std::size_t i = 0; i < values.size(); ++i) t.values<std::int64_t>()[i] = values[i];
  return t;
}

Tensor Strings(std::vector<std::string> values) {
  std::size_t bytes = 0;
  for (const auto& v : values) bytes += 4 + v.size();
  auto t = Tensor::AllocateBytes("label", DataType::kBytes, Shape{static_cast<std::int64_t>(values.size())}, bytes);
  std::byte* p = t.bytes().data();
  for (const auto& v : values) p += core::WriteBytesElement(p, v);
  return t;
}

TEST(Aggregate, MeanAndWeightedMean) {
  const double values[] = {0.2, 0.4, 0.9};
  const double equal[] = {1, 1, 1};
  const double weights[] = {2, 1, 1};
  EXPECT_DOUBLE_EQ(WeightedMean(values, equal), 0.5);
  EXPECT_DOUBLE_EQ(WeightedMean(values, weights), (0.4 + 0.4 + 0.9) / 4);
}

TEST(Aggregate, MedianOddEvenAndWeighted) {
  const double odd[] = {5, 1, 3};
  const double three[] = {1, 1, 1};
  EXPECT_DOUBLE_EQ(WeightedMedian(odd, three), 3);
  const double even[] = {4, 1, 3, 2};
  const double four[] = {1, 1, 1, 1};
  EXPECT_DOUBLE_EQ(WeightedMedian(even, four), 2.5);  // the usual median: the mean of the middle two
  const double heavy[] = {3, 1, 1};                   // the first member outweighs the other two
  EXPECT_DOUBLE_EQ(WeightedMedian(odd, heavy), 5);
}

TEST(Aggregate, MajorityByWeightAndTieToTheFirstListed) {
  const Label a{.number = 1}, b{.number = 2}, c{.number = 3};
  const Label votes[] = {a, b, b};
  const double equal[] = {1, 1, 1};
  EXPECT_EQ(votes[MajorityVote(votes, equal)], b);
  const double heavy_first[] = {3, 1, 1};
  EXPECT_EQ(votes[MajorityVote(votes, heavy_first)], a);
  const Label tie[] = {c, a, a, c};  // 2 votes each: c was voted first
  const double four[] = {1, 1, 1, 1};
  EXPECT_EQ(tie[MajorityVote(tie, four)], c);
  const Label texts[] = {{.text = "cat", .is_text = true}, {.text = "dog", .is_text = true},
                         {.text = "dog", .is_text = true}};
  EXPECT_EQ(texts[MajorityVote(texts, equal)].text, "dog");
}

TEST(Aggregate, TensorsElementByElement) {
  const Tensor a = Fp32({0.1f, 0.8f}, Shape{2, 1}), b = Fp32({0.3f, 0.6f}, Shape{2, 1}),
               c = Fp32({0.2f, 1.0f}, Shape{2, 1});
  const Contribution members[] = {{"a", &a, 1}, {"b", &b, 1}, {"c", &c, 2}};
  auto mean = Aggregate(AggregateMethod::kMean, members, "p", "label").value();
  ASSERT_EQ(mean.size(), 1u);
  EXPECT_EQ(mean[0].type(), DataType::kFp32);
  EXPECT_NEAR(mean[0].values<float>()[0], 0.2, 1e-6);
  EXPECT_NEAR(mean[0].values<float>()[1], 0.8, 1e-6);
  auto weighted = Aggregate(AggregateMethod::kWeightedMean, members, "p", "label").value();
  EXPECT_NEAR(weighted[0].values<float>()[1], (0.8 + 0.6 + 2.0) / 4, 1e-6);
  auto median = Aggregate(AggregateMethod::kMedian, members, "p", "label").value();
  // Weights 1, 1, 2: 0.1 (1), 0.2 (c: 2) passes half of 4; then 0.6 (1), 0.8 (1) reaches half exactly.
  EXPECT_NEAR(median[0].values<float>()[0], 0.2, 1e-6);
  EXPECT_NEAR(median[0].values<float>()[1], 0.9, 1e-6);
}

TEST(Aggregate, MajorityKeepsTheDatatype) {
  const Tensor a = Int64({0, 1, 2}), b = Int64({1, 1, 0}), c = Int64({1, 2, 2});
  const Contribution members[] = {{"a", &a, 1}, {"b", &b, 1}, {"c", &c, 1}};
  auto vote = Aggregate(AggregateMethod::kMajority, members, "label", "").value();
  ASSERT_EQ(vote[0].type(), DataType::kInt64);
  EXPECT_EQ(vote[0].values<std::int64_t>()[0], 1);
  EXPECT_EQ(vote[0].values<std::int64_t>()[1], 1);
  EXPECT_EQ(vote[0].values<std::int64_t>()[2], 2);
  const Tensor x = Strings({"cat", "dog"}), y = Strings({"dog", "dog"}), z = Strings({"cat", "bird"});
  const Contribution words[] = {{"x", &x, 1}, {"y", &y, 1}, {"z", &z, 1}};
  auto labels = Aggregate(AggregateMethod::kMajority, words, "label", "").value();
  std::vector<std::string> out;
  core::ForEachBytesElement(labels[0].bytes(), [&](std::string_view s) { out.emplace_back(s); });
  EXPECT_EQ(out, (std::vector<std::string>{"cat", "dog"}));
}

TEST(Aggregate, SoftVoteAveragesProbabilitiesAndPicksTheClass) {
  const Tensor a = Fp32({0.6f, 0.3f, 0.1f}, Shape{1, 3}), b = Fp32({0.2f, 0.5f, 0.3f}, Shape{1, 3});
  const Contribution members[] = {{"a", &a, 1}, {"b", &b, 1}};
  auto out = Aggregate(AggregateMethod::kSoftVote, members, "p", "label").value();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0].values<float>()[0], 0.4, 1e-6);
  EXPECT_NEAR(out[0].values<float>()[1], 0.4, 1e-6);
  EXPECT_EQ(out[1].name(), "label");
  EXPECT_EQ(out[1].values<std::int64_t>()[0], 0);  // 0.4 each: the first class wins the tie
  const Tensor p = Fp32({0.7f, 0.2f}, Shape{2, 1}), q = Fp32({0.4f, 0.5f}, Shape{2, 1});
  const Contribution binary[] = {{"p", &p, 1}, {"q", &q, 1}};
  auto yes = Aggregate(AggregateMethod::kSoftVote, binary, "p", "label").value();
  EXPECT_EQ(yes[1].values<std::int64_t>()[0], 1);
  EXPECT_EQ(yes[1].values<std::int64_t>()[1], 0);
}

TEST(Aggregate, MembersThatDisagreeOnTheShapeAreAnError) {
  const Tensor a = Fp32({0.1f}, Shape{1, 1}), b = Fp32({0.1f, 0.9f}, Shape{1, 2});
  const Contribution members[] = {{"a", &a, 1}, {"b", &b, 1}};
  auto out = Aggregate(AggregateMethod::kMean, members, "p", "label");
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("'b' answered FP32 [1, 2]"), std::string::npos) << out.error().message;
}

}  // namespace
}  // namespace ferry::routing
