#include "core/tensor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::core {
namespace {

TEST(Shape, ElementCountAndMatching) {
  EXPECT_EQ(Shape({2, 8}).ElementCount(), 16);
  EXPECT_EQ(Shape({}).ElementCount(), 1);
  EXPECT_EQ(Shape({3, 0}).ElementCount(), 0);
  EXPECT_FALSE(Shape({-1, 8}).ElementCount().has_value());
  EXPECT_FALSE(Shape({1LL << 40, 1LL << 40}).ElementCount().has_value());  // overflow
  EXPECT_TRUE(Shape({4, 8}).Matches(Shape({-1, 8})));
  EXPECT_FALSE(Shape({4, 7}).Matches(Shape({-1, 8})));
  EXPECT_FALSE(Shape({8}).Matches(Shape({-1, 8})));
  EXPECT_EQ(Shape({-1, 8}).ToString(), "[-1, 8]");
}

TEST(Tensor, AllocateSizesTheBuffer) {
  auto t = Tensor::Allocate("x", DataType::kFp64, {3, 2});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->element_count(), 6);
  EXPECT_EQ(t->byte_size(), 48u);
  EXPECT_EQ(t->values<double>().size(), 6u);
  EXPECT_EQ(t->name(), "x");
}

TEST(Tensor, AllocateRejectsBadShapesAndBytes) {
  EXPECT_FALSE(Tensor::Allocate("x", DataType::kFp32, {-1, 2}).has_value());
  EXPECT_FALSE(Tensor::Allocate("x", DataType::kFp32, {1LL << 62, 4}).has_value());
  auto bytes = Tensor::Allocate("x", DataType::kBytes, {2});
  ASSERT_FALSE(bytes.has_value());
  EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
}

TEST(Tensor, BytesLayoutRoundTrips) {
  const std::vector<std::string> elements = {"", "a", std::string("nul\0inside", 10)};
  std::size_t size = 0;
  for (const auto& e : elements) size += 4 + e.size();
  Tensor t = Tensor::AllocateBytes("s", DataType::kBytes, {3}, size);
  std::byte* out = t.bytes().data();
  for (const auto& e : elements) out += WriteBytesElement(out, e);
  ASSERT_TRUE(t.ValidateBytes().has_value());
  std::vector<std::string> read;
  ForEachBytesElement(t.bytes(), [&](std::string_view s) { read.emplace_back(s); });
  EXPECT_EQ(read, elements);
  // Little-endian length prefix.
  EXPECT_EQ(static_cast<int>(t.bytes()[4]), 1);
  EXPECT_EQ(static_cast<int>(t.bytes()[5]), 0);
}

TEST(Tensor, ValidateBytesFindsTruncationAndCountMismatch) {
  Tensor truncated = Tensor::AllocateBytes("s", DataType::kBytes, {1}, 6);
  WriteBytesElement(truncated.bytes().data(), "");  // 4 bytes; 2 stray bytes follow
  truncated.bytes()[4] = std::byte{9};
  truncated.bytes()[5] = std::byte{0};
  EXPECT_FALSE(truncated.ValidateBytes().has_value());

  Tensor wrong_count = Tensor::AllocateBytes("s", DataType::kBytes, {2}, 5);
  WriteBytesElement(wrong_count.bytes().data(), "x");
  auto result = wrong_count.ValidateBytes();
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("needs 2"), std::string::npos) << result.error().message;
}

TEST(Error, CodesMapToHttpStatuses) {
  EXPECT_EQ(HttpStatus(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(ErrorCode::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatus(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(ErrorCode::kInternal), 500);
}

// An embedder's input is read where it is: Borrow neither copies nor frees the caller's memory,
// and a tensor moved on (into a request, a batch) still points there.
TEST(TensorTest, ABorrowedTensorViewsTheCallersMemory) {
  std::vector<float> caller = {1, 2, 3, 4, 5, 6};
  auto t = Tensor::Borrow("x", DataType::kFp32, Shape({2, 3}), std::as_bytes(std::span(caller)));
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_TRUE(t->borrowed());
  EXPECT_EQ(static_cast<const void*>(t->bytes().data()), static_cast<const void*>(caller.data()));
  Tensor moved = std::move(*t);
  EXPECT_EQ(static_cast<const void*>(moved.bytes().data()), static_cast<const void*>(caller.data()));
  EXPECT_EQ(moved.values<float>()[4], 5.0f);
  Tensor copy = moved.Clone();
  EXPECT_FALSE(copy.borrowed());
  EXPECT_NE(static_cast<const void*>(copy.bytes().data()), static_cast<const void*>(caller.data()));
  auto wrong = Tensor::Borrow("x", DataType::kFp32, Shape({2, 4}), std::as_bytes(std::span(caller)));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().message.find("tensor 'x'"), std::string::npos) << wrong.error().message;
  const std::string bad_bytes = std::string("\x09\0\0\0", 4) + "ab";  // says 9 bytes, holds 2
  EXPECT_FALSE(Tensor::Borrow("s", DataType::kBytes, Shape({1}), std::as_bytes(std::span(bad_bytes))).has_value());
}  // `moved` and `copy` go here; the caller's vector is freed by the caller alone

}  // namespace
}  // namespace ferry::core
