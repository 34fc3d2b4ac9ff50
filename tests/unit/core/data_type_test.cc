#include "core/data_type.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ferry::core {
namespace {

TEST(DataType, NamesRoundTrip) {
  for (DataType type : kAllDataTypes) {
    auto parsed = ParseDataType(DataTypeName(type));
    ASSERT_TRUE(parsed.has_value()) << DataTypeName(type);
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_FALSE(ParseDataType("FLOAT32").has_value());
  EXPECT_FALSE(ParseDataType("fp32").has_value());
  EXPECT_FALSE(ParseDataType("").has_value());
}

TEST(DataType, Sizes) {
  EXPECT_EQ(DataTypeSize(DataType::kBool), 1u);
  EXPECT_EQ(DataTypeSize(DataType::kInt8), 1u);
  EXPECT_EQ(DataTypeSize(DataType::kFp16), 2u);
  EXPECT_EQ(DataTypeSize(DataType::kBf16), 2u);
  EXPECT_EQ(DataTypeSize(DataType::kUint32), 4u);
  EXPECT_EQ(DataTypeSize(DataType::kFp32), 4u);
  EXPECT_EQ(DataTypeSize(DataType::kInt64), 8u);
  EXPECT_EQ(DataTypeSize(DataType::kFp64), 8u);
  EXPECT_EQ(DataTypeSize(DataType::kBytes), 0u);
}

TEST(DataType, HalfConversion) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);                  // largest finite half
  EXPECT_EQ(FloatToHalf(1e6f), 0x7c00);                      // overflow to +inf
  EXPECT_EQ(FloatToHalf(5.960464477539063e-08f), 0x0001);    // smallest subnormal
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::numeric_limits<float>::quiet_NaN()))));
  for (float v : {0.5f, 0.333251953125f, -1024.0f, 6.103515625e-05f, 1.5e-06f}) {
    // Relative precision 2^-11 for normal halves; half a subnormal step (2^-25) below 2^-14.
    EXPECT_NEAR(HalfToFloat(FloatToHalf(v)), v, std::max(std::fabs(v) * 4.9e-4f, 2.99e-8f)) << v;
  }
  EXPECT_EQ(FloatToHalf(1.0f + 1.0f / 2048), 0x3c00);  // halfway rounds to even
}

TEST(DataType, Bf16Conversion) {
  EXPECT_EQ(FloatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(-3.5f)), -3.5f);
  EXPECT_TRUE(std::isnan(Bf16ToFloat(FloatToBf16(std::numeric_limits<float>::quiet_NaN()))));
}

}  // namespace
}  // namespace ferry::core
