// Tensor: a named, typed, shaped block of data in one contiguous buffer that the tensor owns.
//
// Fixed-size types hold ElementCount() * DataTypeSize() bytes, row-major, little-endian.
// BYTES tensors hold their elements back to back, each as a 4-byte little-endian length followed
// by that many bytes -- the layout of the KServe binary tensor extension -- so codecs decode
// straight into the buffer and encode straight out of it.
//
// A Tensor is move-only and not synchronized; hand it between threads by moving it. It owns its
// buffer, except one made by Borrow(), which views memory its caller owns (an embedding
// program's input, zero-copy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/data_type.h"
#include "core/error.h"
#include "core/shape.h"

namespace ferry::core {

// Frees a tensor's buffer unless the tensor borrowed it (Tensor::Borrow).
struct TensorBufferDeleter {
  bool owned = true;
  void operator()(std::byte* p) const noexcept {
    if (owned) delete[] p;
  }
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  // A tensor of a fixed-size type with an uninitialized buffer sized for `shape` (which must be
  // concrete). Fails with kInvalidArgument on a BYTES type, a negative dim or an overflowing size.
  static Result<Tensor> Allocate(std::string name, DataType type, Shape shape);

  // A tensor whose buffer has exactly `byte_size` uninitialized bytes. For BYTES tensors built by
  // a codec; the caller fills the buffer in the layout above. Use ValidateBytes() if unsure.
  static Tensor AllocateBytes(std::string name, DataType type, Shape shape, std::size_t byte_size);

  // A tensor holding a copy of `raw`: little-endian elements, or for BYTES the length-prefixed
  // layout above. Fails with kInvalidArgument, naming the tensor, when `raw` does not hold exactly
  // what `shape` needs (a concrete shape is required).
  static Result<Tensor> FromRaw(std::string name, DataType type, Shape shape, std::span<const std::byte> raw);

  // A tensor over `raw` without copying it, checked as FromRaw: the caller keeps `raw` valid and
  // unchanged until this tensor and every tensor moved from it are gone. ferry reads an input
  // tensor's bytes and does not write them (a Python model given the array may).
  static Result<Tensor> Borrow(std::string name, DataType type, Shape shape, std::span<const std::byte> raw);
  bool borrowed() const { return !data_.get_deleter().owned; }

  // A deep copy (same name, type, shape and bytes), owning its buffer.
  Tensor Clone() const;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  DataType type() const { return type_; }
  const Shape& shape() const { return shape_; }

  // Number of elements (the product of the shape).
  std::int64_t element_count() const { return element_count_; }
  std::size_t byte_size() const { return byte_size_; }
  std::span<std::byte> bytes() { return {data_.get(), byte_size_}; }
  std::span<const std::byte> bytes() const { return {data_.get(), byte_size_}; }

  // The elements of a fixed-size tensor as T; T must match the type's size.
  template <typename T>
  std::span<T> values() {
    return {reinterpret_cast<T*>(data_.get()), byte_size_ / sizeof(T)};
  }
  template <typename T>
  std::span<const T> values() const {
    return {reinterpret_cast<const T*>(data_.get()), byte_size_ / sizeof(T)};
  }

  // For BYTES tensors: checks that the buffer holds exactly element_count() well-formed elements.
  Result<void> ValidateBytes() const;

 private:
  std::string name_;
  DataType type_ = DataType::kFp32;
  Shape shape_;
  std::int64_t element_count_ = 0;
  std::size_t byte_size_ = 0;
  std::unique_ptr<std::byte[], TensorBufferDeleter> data_;
};

// Element i of a fixed-size numeric tensor as a double (BOOL as 0 or 1); 0 for BYTES, FP16, BF16.
double ElementAsDouble(const Tensor& tensor, std::size_t i);

// Walks the elements of a BYTES buffer (validated), calling fn(std::string_view) for each.
template <typename Fn>
void ForEachBytesElement(std::span<const std::byte> buffer, Fn&& fn) {
  std::size_t pos = 0;
  while (pos + 4 <= buffer.size()) {
    std::uint32_t length = 0;
    for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<std::uint8_t>(buffer[pos + i]);
    pos += 4;
    fn(std::string_view(reinterpret_cast<const char*>(buffer.data() + pos), length));
    pos += length;
  }
}

// Writes one BYTES element (length prefix + bytes) at `out`; returns the bytes written.
std::size_t WriteBytesElement(std::byte* out, std::string_view element);

}  // namespace ferry::core
