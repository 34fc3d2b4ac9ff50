// Tensors of the embedding API (ferry/ferry.h): TensorView, an input that borrows the caller's
// memory (zero-copy in), and Tensor, an output that owns its bytes.
//
// Layout as in the KServe V2 protocol: fixed-size elements row-major, little-endian, BOOL one
// byte; a BYTES tensor's elements back to back, each a 4-byte little-endian length then its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/status.h"

namespace ferry {

enum class DataType {
  kBool, kUint8, kUint16, kUint32, kUint64, kInt8, kInt16, kInt32, kInt64, kFp16, kFp32, kFp64, kBf16, kBytes,
};

// "FP32", "BYTES", ...
FERRY_EXPORT std::string_view DataTypeName(DataType type);

// An input. It does not own `data`: the caller keeps the memory valid and unchanged until the
// call it was given to has answered (its callback ran, or its future is ready); ferry reads it
// where it is, without copying (a Python model handed the array could write to it). A plain
// value type otherwise, safe to copy.
struct TensorView {
  std::string name;
  DataType type = DataType::kFp32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t byte_size = 0;

  template <typename T>
  static TensorView Of(std::string name, std::vector<std::int64_t> shape, std::span<const T> values, DataType type) {
    return {std::move(name), type, std::move(shape), values.data(), values.size_bytes()};
  }
};

// An output. Owns its bytes; move it, or read it from any thread once the call has answered.
class FERRY_EXPORT Tensor {
 public:
  Tensor() = default;
  Tensor(std::string name, DataType type, std::vector<std::int64_t> shape, std::string bytes)
      : name_(std::move(name)), type_(type), shape_(std::move(shape)), bytes_(std::move(bytes)) {}

  const std::string& name() const { return name_; }
  DataType type() const { return type_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  const void* data() const { return bytes_.data(); }
  std::size_t byte_size() const { return bytes_.size(); }
  // The elements as T, whose size must be the type's (float for FP32, std::int64_t for INT64).
  template <typename T>
  std::span<const T> values() const {
    return {reinterpret_cast<const T*>(bytes_.data()), bytes_.size() / sizeof(T)};
  }
  // A BYTES tensor's elements.
  std::vector<std::string_view> strings() const;

 private:
  std::string name_;
  DataType type_ = DataType::kFp32;
  std::vector<std::int64_t> shape_;
  std::string bytes_;
};

}  // namespace ferry
