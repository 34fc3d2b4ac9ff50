#include "core/tensor.h"

#include <cstring>
#include <fmt/format.h>

namespace ferry::core {

Result<Tensor> Tensor::Allocate(std::string name, DataType type, Shape shape) {
  if (type == DataType::kBytes) {
    return InvalidArgument(fmt::format("tensor '{}': BYTES tensors are sized by their elements", name));
  }
  const auto count = shape.ElementCount();
  std::size_t bytes = 0;
  if (!count || __builtin_mul_overflow(static_cast<std::size_t>(*count), DataTypeSize(type), &bytes)) {
    return InvalidArgument(fmt::format("tensor '{}': shape {} is not a valid concrete shape", name,
                                       shape.ToString()));
  }
  return AllocateBytes(std::move(name), type, std::move(shape), bytes);
}

Tensor Tensor::AllocateBytes(std::string name, DataType type, Shape shape, std::size_t byte_size) {
  Tensor t;
  t.name_ = std::move(name);
  t.type_ = type;
  t.element_count_ = shape.ElementCount().value_or(0);
  t.shape_ = std::move(shape);
  t.byte_size_ = byte_size;
  t.data_ = {std::make_unique_for_overwrite<std::byte[]>(byte_size == 0 ? 1 : byte_size).release(), {}};
  return t;
}

double ElementAsDouble(const Tensor& t, std::size_t i) {
  switch (t.type()) {
    case DataType::kFp32: return t.values<float>()[i];
    case DataType::kFp64: return t.values<double>()[i];
    case DataType::kInt8: return t.values<std::int8_t>()[i];
    case DataType::kInt16: return t.values<std::int16_t>()[i];
    case DataType::kInt32: return t.values<std::int32_t>()[i];
    case DataType::kInt64: return static_cast<double>(t.values<std::int64_t>()[i]);
    case DataType::kUint8: return t.values<std::uint8_t>()[i];
    case DataType::kUint16: return t.values<std::uint16_t>()[i];
    case DataType::kUint32: return t.values<std::uint32_t>()[i];
    case DataType::kUint64: return static_cast<double>(t.values<std::uint64_t>()[i]);
    case DataType::kBool: return t.values<bool>()[i] ? 1 : 0;
    default: return 0;
  }
}

Tensor Tensor::Clone() const {
  Tensor copy = AllocateBytes(name_, type_, shape_, byte_size_);
  if (byte_size_ > 0) std::memcpy(copy.data_.get(), data_.get(), byte_size_);
  return copy;
}

namespace {

// Whether `raw` holds exactly what `shape` of `type` needs (BYTES: checked element by element later).
Result<void> CheckRaw(const std::string& name, DataType type, const Shape& shape, std::span<const std::byte> raw) {
  if (!shape.ElementCount()) {
    return InvalidArgument(fmt::format("tensor '{}': shape {} is not a valid concrete shape", name, shape.ToString()));
  }
  if (type != DataType::kBytes) {
    const auto count = static_cast<std::uint64_t>(*shape.ElementCount());
    std::uint64_t want = 0;
    if (__builtin_mul_overflow(count, DataTypeSize(type), &want) || want != raw.size()) {
      return InvalidArgument(fmt::format("tensor '{}': shape {} of {} needs {} values of {} bytes, got {} bytes", name,
                                         shape.ToString(), DataTypeName(type), count, DataTypeSize(type), raw.size()));
    }
  }
  return {};
}

}  // namespace

Result<Tensor> Tensor::FromRaw(std::string name, DataType type, Shape shape, std::span<const std::byte> raw) {
  FERRY_RETURN_IF_ERROR(CheckRaw(name, type, shape, raw));
  Tensor t = AllocateBytes(std::move(name), type, std::move(shape), raw.size());
  if (!raw.empty()) std::memcpy(t.data_.get(), raw.data(), raw.size());
  if (type == DataType::kBytes) FERRY_RETURN_IF_ERROR(t.ValidateBytes());
  return t;
}

Result<Tensor> Tensor::Borrow(std::string name, DataType type, Shape shape, std::span<const std::byte> raw) {
  FERRY_RETURN_IF_ERROR(CheckRaw(name, type, shape, raw));
  Tensor t;
  t.name_ = std::move(name);
  t.type_ = type;
  t.element_count_ = shape.ElementCount().value_or(0);
  t.shape_ = std::move(shape);
  t.byte_size_ = raw.size();
  t.data_ = {const_cast<std::byte*>(raw.data()), {.owned = false}};
  if (type == DataType::kBytes) FERRY_RETURN_IF_ERROR(t.ValidateBytes());
  return t;
}

Result<void> Tensor::ValidateBytes() const {
  std::size_t pos = 0;
  std::int64_t count = 0;
  while (pos < byte_size_) {
    if (byte_size_ - pos < 4) {
      return InvalidArgument(fmt::format("tensor '{}': BYTES element {} has a truncated length prefix",
                                         name_, count));
    }
    std::uint32_t length = 0;
    for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<std::uint8_t>(data_[pos + i]);
    pos += 4;
    if (byte_size_ - pos < length) {
      return InvalidArgument(fmt::format("tensor '{}': BYTES element {} claims {} bytes, only {} remain",
                                         name_, count, length, byte_size_ - pos));
    }
    pos += length;
    ++count;
  }
  if (count != element_count_) {
    return InvalidArgument(fmt::format("tensor '{}': shape {} needs {} BYTES elements, data has {}",
                                       name_, shape_.ToString(), element_count_, count));
  }
  return {};
}

std::size_t WriteBytesElement(std::byte* out, std::string_view element) {
  const auto length = static_cast<std::uint32_t>(element.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>((length >> (8 * i)) & 0xffu);
  std::memcpy(out + 4, element.data(), element.size());
  return 4 + element.size();
}

}  // namespace ferry::core
