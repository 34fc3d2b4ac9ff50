// DataType: the element types of the KServe V2 / Open Inference Protocol (plus Triton's BF16).
//
// Names are the protocol's ("FP32", "BYTES"). Fixed-size types are stored little-endian, one
// element after another; BOOL is one byte (0 or 1); FP16 and BF16 are 2-byte bit patterns.
// BYTES elements have no fixed size: see Tensor for their layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ferry::core {

enum class DataType : std::uint8_t {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBf16,
  kBytes,
};

inline constexpr DataType kAllDataTypes[] = {
    DataType::kBool,  DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
    DataType::kInt8,  DataType::kInt16, DataType::kInt32,  DataType::kInt64,  DataType::kFp16,
    DataType::kFp32,  DataType::kFp64,  DataType::kBf16,   DataType::kBytes,
};

// The protocol name, e.g. "FP32".
std::string_view DataTypeName(DataType type);

// Parses a protocol name ("FP32"); nullopt for anything else.
std::optional<DataType> ParseDataType(std::string_view name);

// Bytes per element; 0 for BYTES, whose elements vary in size.
std::size_t DataTypeSize(DataType type);

// Half-precision conversions (IEEE 754 binary16 and bfloat16), round to nearest even.
std::uint16_t FloatToHalf(float value);
float HalfToFloat(std::uint16_t bits);
std::uint16_t FloatToBf16(float value);
float Bf16ToFloat(std::uint16_t bits);

}  // namespace ferry::core
