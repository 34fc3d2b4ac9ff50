// The .npy reader: files written the way numpy.save writes them, built here byte by byte.
#include "core/npy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ferry::core {
namespace {

// A version 1.0 file: magic, version, header length, the dict padded with spaces to a multiple
// of 64 bytes ending in a newline, then the data.
template <typename T>
std::string Npy(std::string_view descr, std::string_view shape, const std::vector<T>& data, bool fortran = false) {
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + std::string(shape) + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  std::string bytes(data.size() * sizeof(T), '\0');
  if (!data.empty()) std::memcpy(bytes.data(), data.data(), bytes.size());  // an empty vector's data() may be null
  return out + bytes;
}

TEST(Npy, ReadsRowsOfEveryNumberTypeItTakes) {
  auto f8 = ParseNpyRows(Npy<double>("<f8", "(2, 3)", {1, 2, 3, 4, 5, 6.5}));
  ASSERT_TRUE(f8.has_value()) << f8.error().message;
  EXPECT_EQ(*f8, (std::vector<std::vector<double>>{{1, 2, 3}, {4, 5, 6.5}}));
  auto f4 = ParseNpyRows(Npy<float>("<f4", "(3,)", {0.5f, 1.5f, -2}));
  ASSERT_TRUE(f4.has_value()) << f4.error().message;
  EXPECT_EQ(*f4, (std::vector<std::vector<double>>{{0.5, 1.5, -2}}));  // 1-D: one row
  auto i8 = ParseNpyRows(Npy<std::int64_t>("<i8", "(1, 2)", {7, -9}));
  ASSERT_TRUE(i8.has_value()) << i8.error().message;
  EXPECT_EQ(*i8, (std::vector<std::vector<double>>{{7, -9}}));
  auto i4 = ParseNpyRows(Npy<std::int32_t>("<i4", "(2, 1)", {3, 4}));
  ASSERT_TRUE(i4.has_value()) << i4.error().message;
  EXPECT_EQ(*i4, (std::vector<std::vector<double>>{{3}, {4}}));
}

TEST(Npy, RefusesWhatItCannotReadSayingWhy) {
  auto expect = [](const std::string& bytes, std::string_view why) {
    auto parsed = ParseNpyRows(bytes);
    ASSERT_FALSE(parsed.has_value()) << why;
    EXPECT_NE(parsed.error().message.find(why), std::string::npos) << parsed.error().message;
  };
  expect("not a numpy file", "magic");
  expect(Npy<double>("<f8", "(2, 2)", {1, 2, 3, 4}, true), "Fortran order");
  expect(Npy<std::int16_t>("<i2", "(2,)", {1, 2}), "'<i2'");
  expect(Npy<double>(">f8", "(1,)", {1}), "'>f8'");
  expect(Npy<double>("<f8", "(2, 2, 2)", std::vector<double>(8)), "3 dimensions");
  expect(Npy<double>("<f8", "(3, 2)", {1, 2, 3}), "cut short");
  expect(Npy<double>("<f8", "(4611686018427387904, 4)", {1, 2}), "cut short");
  // Found by fuzz_npy: rows of no columns, as many as the shape says (it threw length_error).
  expect(Npy<double>("<f8", "(6535286009268011007, 0)", {}), "no columns");
  expect(Npy<double>("<f8", "(0, 6535286009268011007)", {}), "no rows");  // and none of that width allocated
  std::string truncated = Npy<double>("<f8", "(1,)", {1});
  expect(truncated.substr(0, 20), "header is cut short");
}

}  // namespace
}  // namespace ferry::core
