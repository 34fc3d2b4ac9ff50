#include "scheduler/batch.h"

#include <gtest/gtest.h>

namespace ferry::sched {
namespace {

using core::DataType;

core::InferenceRequest Request(std::vector<std::vector<float>> rows) {
  core::InferenceRequest r;
  const auto width = static_cast<std::int64_t>(rows.empty() ? 0 : rows[0].size());
  auto t = core::Tensor::Allocate("x", DataType::kFp32, {static_cast<std::int64_t>(rows.size()), width});
  std::size_t i = 0;
  for (const auto& row : rows) {
    for (float v : row) t->values<float>()[i++] = v;
  }
  r.inputs.push_back(std::move(*t));
  return r;
}

core::Tensor Strings(std::string name, std::vector<std::string> values, core::Shape shape) {
  std::size_t size = 0;
  for (const auto& v : values) size += 4 + v.size();
  core::Tensor t = core::Tensor::AllocateBytes(std::move(name), DataType::kBytes, std::move(shape), size);
  std::byte* out = t.bytes().data();
  for (const auto& v : values) out += core::WriteBytesElement(out, v);
  return t;
}

std::vector<std::string> ReadStrings(const core::Tensor& t) {
  std::vector<std::string> out;
  core::ForEachBytesElement(t.bytes(), [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

TEST(Batch, RowsAndCompatibility) {
  const auto a = Request({{1, 2}, {3, 4}});
  const auto b = Request({{5, 6}});
  const auto c = Request({{7, 8, 9}});
  const std::vector<std::string> y = {"y"}, z = {"z"};
  EXPECT_EQ(Rows(a), 2);
  EXPECT_EQ(Rows(b), 1);
  EXPECT_TRUE(Compatible(a, y, b, y));
  EXPECT_FALSE(Compatible(a, y, c, y));  // another non-batch dim
  EXPECT_FALSE(Compatible(a, y, b, z));  // other outputs wanted
  auto d = Request({{1, 2}});
  d.inputs[0].set_name("w");
  EXPECT_FALSE(Compatible(a, y, d, y));
}

TEST(Batch, JoinsAlongTheFirstDim) {
  const auto a = Request({{1, 2}, {3, 4}});
  const auto b = Request({{5, 6}});
  const core::InferenceRequest* both[] = {&a, &b};
  auto joined = JoinInputs(both);
  ASSERT_TRUE(joined.has_value());
  ASSERT_EQ(joined->size(), 1u);
  EXPECT_EQ((*joined)[0].shape(), core::Shape({3, 2}));
  EXPECT_EQ(std::vector<float>((*joined)[0].values<float>().begin(), (*joined)[0].values<float>().end()),
            (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Batch, SplitsFixedSizeAndBytesOutputsByRows) {
  std::vector<core::Tensor> outputs;
  auto y = core::Tensor::Allocate("y", DataType::kInt64, {4, 2});
  for (int i = 0; i < 8; ++i) y->values<std::int64_t>()[i] = i;
  outputs.push_back(std::move(*y));
  outputs.push_back(Strings("s", {"a", "bb", "", "dddd"}, {4}));
  const std::int64_t rows[] = {1, 3};
  auto split = SplitOutputs(std::move(outputs), rows);
  ASSERT_TRUE(split.has_value()) << split.error().message;
  ASSERT_EQ(split->size(), 2u);
  EXPECT_EQ((*split)[0][0].shape(), core::Shape({1, 2}));
  EXPECT_EQ((*split)[0][0].values<std::int64_t>()[1], 1);
  EXPECT_EQ((*split)[1][0].shape(), core::Shape({3, 2}));
  EXPECT_EQ((*split)[1][0].values<std::int64_t>()[0], 2);
  EXPECT_EQ(ReadStrings((*split)[0][1]), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ReadStrings((*split)[1][1]), (std::vector<std::string>{"bb", "", "dddd"}));
  EXPECT_TRUE((*split)[1][1].ValidateBytes().has_value());
}

TEST(Batch, SplitRefusesOutputsWithoutTheBatchRows) {
  std::vector<core::Tensor> outputs;
  outputs.push_back(*core::Tensor::Allocate("y", DataType::kFp32, {3}));
  const std::int64_t rows[] = {1, 1};
  auto split = SplitOutputs(std::move(outputs), rows);
  ASSERT_FALSE(split.has_value());
  EXPECT_EQ(split.error().message, "output 'y' has shape [3], not the 2 rows of the batch");
}

}  // namespace
}  // namespace ferry::sched
