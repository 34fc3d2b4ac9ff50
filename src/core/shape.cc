#include "core/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ferry::core {

bool Shape::IsConcrete() const {
  for (std::int64_t d : dims_) {
    if (d < 0) return false;
  }
  return true;
}

std::optional<std::int64_t> Shape::ElementCount() const {
  std::int64_t count = 1;
  for (std::int64_t d : dims_) {
    if (d < 0) return std::nullopt;
    if (__builtin_mul_overflow(count, d, &count)) return std::nullopt;
  }
  return count;
}

bool Shape::Matches(const Shape& pattern) const {
  if (dims_.size() != pattern.dims_.size()) return false;
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (pattern.dims_[i] >= 0 && pattern.dims_[i] != dims_[i]) return false;
  }
  return true;
}

std::string Shape::ToString() const { return fmt::format("[{}]", fmt::join(dims_, ", ")); }

}  // namespace ferry::core
