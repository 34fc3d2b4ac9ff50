#include "model/repository.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <system_error>

namespace ferry::model {

namespace fs = std::filesystem;

std::optional<std::int64_t> ParseVersionFolder(std::string_view name) {
  if (name.empty() || name.size() > 18 || name[0] == '0') return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
  if (ec != std::errc() || end != name.data() + name.size() || value < 1) return std::nullopt;
  return value;
}

core::Result<RepositoryScan> ScanRepository(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return core::NotFound(fmt::format("model repository '{}' is not a directory", root.string()));
  }
  RepositoryScan scan;
  fs::directory_iterator models(root, ec);
  if (ec) {
    return core::Unavailable(fmt::format("model repository '{}' cannot be read: {}", root.string(), ec.message()));
  }
  for (const auto& entry : models) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with('.')) continue;  // hidden: editor and tool files
    if (!entry.is_directory(ec)) {
      scan.ignored.push_back(fmt::format("{}: not a model folder", name));
      continue;
    }
    ModelDirectory model{.name = name, .path = entry.path(), .config_file = std::nullopt, .versions = {}};
    for (const auto& sub : fs::directory_iterator(entry.path(), ec)) {
      const std::string sub_name = sub.path().filename().string();
      if (sub_name == "model.yaml" && sub.is_regular_file(ec)) {
        model.config_file = sub.path();
      } else if (sub.is_directory(ec)) {
        if (auto version = ParseVersionFolder(sub_name)) {
          model.versions.push_back(*version);
        } else if (!sub_name.starts_with('.')) {
          scan.ignored.push_back(fmt::format("{}/{}: not a numeric version folder", name, sub_name));
        }
      }
    }
    std::sort(model.versions.begin(), model.versions.end());
    scan.models.push_back(std::move(model));
  }
  std::sort(scan.models.begin(), scan.models.end(),
            [](const ModelDirectory& a, const ModelDirectory& b) { return a.name < b.name; });
  std::sort(scan.ignored.begin(), scan.ignored.end());
  return scan;
}

}  // namespace ferry::model
