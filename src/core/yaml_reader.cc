#include "core/yaml_reader.h"

#include <fmt/ranges.h>

#include <algorithm>

namespace ferry::core {

Result<YAML::Node> YamlReader::Load(std::string_view text) const {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: not valid YAML: {}", source_, e.mark.line + 1, e.msg));
  }
}

std::unexpected<Error> YamlReader::Fail(const YAML::Node& node, std::string_view what) const {
  if (!node.IsDefined()) return InvalidArgument(fmt::format("{}: {}", source_, what));  // no line to name
  const auto mark = node.Mark();
  if (mark.line >= 0) return InvalidArgument(fmt::format("{}:{}: {}", source_, mark.line + 1, what));
  return InvalidArgument(fmt::format("{}: {}", source_, what));
}

Result<std::string> YamlReader::Key(const YAML::Node& key, std::string_view where) const {
  if (!key.IsScalar()) return Fail(key, fmt::format("the keys of {} must be names", where));
  return key.Scalar();
}

Result<void> YamlReader::OnlyKeys(const YAML::Node& map, std::string_view where,
                                  std::initializer_list<std::string_view> known) const {
  for (const auto& entry : map) {
    FERRY_ASSIGN_OR_RETURN(const std::string key, Key(entry.first, where));
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Fail(entry.first, fmt::format("unknown key '{}' in {} (known: {})", key, where, fmt::join(known, ", ")));
    }
  }
  return {};
}

}  // namespace ferry::core
