#include "core/npy.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <cstring>

namespace ferry::core {
namespace {

// The value of `key` in the header's Python dict literal: the text after "'key':" up to the
// next top-level comma or the closing brace.
std::string_view DictValue(std::string_view header, std::string_view key) {
  const std::string quoted = fmt::format("'{}':", key);
  const std::size_t at = header.find(quoted);
  if (at == std::string_view::npos) return {};
  std::string_view rest = header.substr(at + quoted.size());
  int depth = 0;
  std::size_t end = 0;
  for (; end < rest.size(); ++end) {
    const char c = rest[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' && depth == 0) || (c == '}' && depth == 0)) break;
  }
  rest = rest.substr(0, end);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  return rest;
}

template <typename T>
double Read(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return static_cast<double>(value);
}

}  // namespace

Result<std::vector<std::vector<double>>> ParseNpyRows(std::string_view bytes) {
  constexpr std::string_view kMagic = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) return InvalidArgument("not a .npy file (no \\x93NUMPY magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3) return InvalidArgument(fmt::format(".npy format version {} is not supported", major));
  std::size_t length = 0, start = 0;
  if (major == 1) {
    length = static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    start = 10;
  } else {
    if (bytes.size() < 12) return InvalidArgument("the .npy header is cut short");
    for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[8 + static_cast<std::size_t>(i)]);
    start = 12;
  }
  if (bytes.size() < start + length) return InvalidArgument("the .npy header is cut short");
  const std::string_view header = bytes.substr(start, length);
  const std::string_view descr = DictValue(header, "descr");
  if (DictValue(header, "fortran_order") != "False") {
    return InvalidArgument("the .npy array is in Fortran order; save it in C order (numpy.ascontiguousarray)");
  }
  struct Kind {
    std::string_view descr;
    std::size_t size;
    double (*read)(const char*);
  };
  static constexpr Kind kKinds[] = {{"'<f4'", 4, Read<float>}, {"'<f8'", 8, Read<double>},
                                    {"'<i4'", 4, Read<std::int32_t>}, {"'<i8'", 8, Read<std::int64_t>}};
  const Kind* kind = nullptr;
  for (const auto& k : kKinds) {
    if (k.descr == descr) kind = &k;
  }
  if (!kind) {
    return InvalidArgument(fmt::format("the .npy array holds {}; ferry reads little-endian float32, float64, int32 "
                                       "and int64 ('<f4', '<f8', '<i4', '<i8')", descr));
  }
  std::string_view shape = DictValue(header, "shape");
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') {
    return InvalidArgument(fmt::format("the .npy header's shape {} is not a tuple", shape));
  }
  shape = shape.substr(1, shape.size() - 2);
  std::vector<std::size_t> dims;
  while (!shape.empty()) {
    while (!shape.empty() && (shape.front() == ' ' || shape.front() == ',')) shape.remove_prefix(1);
    if (shape.empty()) break;
    std::size_t d = 0;
    auto [end, ec] = std::from_chars(shape.data(), shape.data() + shape.size(), d);
    if (ec != std::errc()) return InvalidArgument("the .npy header's shape is not a tuple of integers");
    dims.push_back(d);
    shape.remove_prefix(static_cast<std::size_t>(end - shape.data()));
  }
  if (dims.empty() || dims.size() > 2) {
    return InvalidArgument(fmt::format("the .npy array has {} dimensions; rows need 1 or 2", dims.size()));
  }
  const std::size_t rows = dims.size() == 2 ? dims[0] : 1, width = dims.back();
  if (width == 0) return InvalidArgument("the .npy array has no columns");
  if (rows == 0) return InvalidArgument("the .npy array has no rows");
  if (rows > (bytes.size() / kind->size) / width) return InvalidArgument("the .npy data is cut short");
  const std::size_t data = start + length;
  if (bytes.size() - data < rows * width * kind->size) return InvalidArgument("the .npy data is cut short");
  std::vector<std::vector<double>> out(rows, std::vector<double>(width));
  const char* at = bytes.data() + data;
  for (auto& row : out) {
    for (auto& v : row) {
      v = kind->read(at);
      at += kind->size;
    }
  }
  return out;
}

}  // namespace ferry::core
