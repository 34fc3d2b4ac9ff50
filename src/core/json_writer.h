// JsonWriter: appends compact JSON to a std::string, with commas placed for the caller.
// Numbers are written with std::to_chars (shortest form that reads back to the same value);
// NaN and infinities, which JSON cannot carry, are written as null. Strings are escaped per
// RFC 8259. Not synchronized; one writer per output string.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::core {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(std::string_view key) {
    Separate();
    AppendString(key);
    out_.push_back(':');
    after_key_ = true;
  }
  void String(std::string_view value) {
    Separate();
    AppendString(value);
  }
  void Bool(bool value) {
    Separate();
    out_.append(value ? "true" : "false");
  }
  // A JSON text written elsewhere (trusted to be valid), as one value.
  void Raw(std::string_view json) {
    Separate();
    out_.append(json);
  }
  void Null() {
    Separate();
    out_.append("null");
  }
  template <typename T>
  void Number(T value) {
    Separate();
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(value)) {
        out_.append("null");
        return;
      }
    }
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, end);
  }
 private:
  void Open(char c) {
    Separate();
    out_.push_back(c);
    first_ = true;
  }
  void Close(char c) {
    out_.push_back(c);
    first_ = false;
  }
  void Separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_.push_back(',');
    }
    first_ = false;
  }
  void AppendString(std::string_view s) {
    out_.push_back('"');
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + start, i - start);
      start = i + 1;
      switch (c) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out_.append(escaped, sizeof escaped);
        }
      }
    }
    out_.append(s.data() + start, s.size() - start);
    out_.push_back('"');
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace ferry::core
