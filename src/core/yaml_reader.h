// YamlReader: reading a configuration file (model.yaml, a router's routes) with yaml-cpp, where
// every failure names the file and the line, and what was expected there:
//   "fraud/model.yaml:7: 'weight' must be a number, got 'high'"
// A reader is told the file's name once; its getters check a node's shape and type. Exceptions
// of yaml-cpp stop here and become kInvalidArgument errors.
// Stateless after construction; safe from any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ferry::core {

class YamlReader {
 public:
  explicit YamlReader(std::string_view source) : source_(source) {}

  const std::string& source() const { return source_; }

  // Parses a whole document; a syntax error names its line.
  Result<YAML::Node> Load(std::string_view text) const;

  std::unexpected<Error> Fail(const YAML::Node& node, std::string_view what) const;

  // A scalar as T (std::string, double, std::int64_t, int, bool); `key` names it in the error.
  // A node that is not there (a missing key) is an error saying the key is required.
  template <typename T>
  Result<T> Scalar(const YAML::Node& node, std::string_view key, std::string_view expected) const {
    if (!node.IsDefined()) return InvalidArgument(fmt::format("{}: '{}' is required ({})", source_, key, expected));
    if (!node.IsScalar()) return Fail(node, fmt::format("'{}' must be {}", key, expected));
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      return Fail(node, fmt::format("'{}' must be {}, got '{}'", key, expected, node.Scalar()));
    }
  }

  // A map key as a string; a key that is itself a list or map (`? [a, b] : 1`) is an error.
  Result<std::string> Key(const YAML::Node& key, std::string_view where) const;

  // Every key of `map` must be one of `known`.
  Result<void> OnlyKeys(const YAML::Node& map, std::string_view where,
                        std::initializer_list<std::string_view> known) const;

 private:
  std::string source_;
};

}  // namespace ferry::core
