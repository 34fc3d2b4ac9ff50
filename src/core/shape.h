// Shape: the dimensions of a tensor, row-major. A dimension of -1 (kVariable) appears only in a
// model's signature and means "any size"; a tensor's own shape is always concrete (all >= 0).
// Plain value type; not synchronized.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::core {

class Shape {
 public:
  static constexpr std::int64_t kVariable = -1;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {}

  std::size_t rank() const { return dims_.size(); }
  std::int64_t operator[](std::size_t i) const { return dims_[i]; }
  std::span<const std::int64_t> dims() const { return dims_; }
  std::vector<std::int64_t>& mutable_dims() { return dims_; }

  // True when no dimension is negative.
  bool IsConcrete() const;

  // Number of elements of a concrete shape (1 for rank 0); nullopt if a dimension is negative or
  // the product overflows int64.
  std::optional<std::int64_t> ElementCount() const;

  // True when this concrete shape fits `pattern`: same rank, equal dims where pattern is fixed.
  bool Matches(const Shape& pattern) const;

  // "[2, 8]" or "[-1, 8]".
  std::string ToString() const;

  friend bool operator==(const Shape&, const Shape&) = default;

 private:
  std::vector<std::int64_t> dims_;
};

}  // namespace ferry::core
