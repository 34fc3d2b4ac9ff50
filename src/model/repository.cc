#include "model/repository.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
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

namespace {

// FNV-1a, enough to tell one state of a few files from another.
void Mix(std::uint64_t& hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
}

std::uint64_t FolderFingerprint(const fs::path& folder) {
  std::uint64_t hash = 1469598103934665603ull;
  std::error_code ec;
  std::vector<std::string> entries;
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const auto size = it->file_size(ec);
    const auto time = it->last_write_time(ec).time_since_epoch().count();
    entries.push_back(fmt::format("{}:{}:{}", fs::relative(it->path(), folder, ec).string(), size, time));
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) Mix(hash, e);
  return hash;
}

std::uint64_t FileFingerprint(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::uint64_t hash = 1469598103934665603ull;
  Mix(hash, text.str());
  return hash == 0 ? 1 : hash;
}

}  // namespace

bool IsPlainName(std::string_view name) {
  return !name.empty() && !name.starts_with('.') && name.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
}

core::Result<ModelDirectory> ScanModel(const fs::path& root, const std::string& name,
                                       std::vector<std::string>* ignored) {
  std::error_code ec;
  const fs::path path = root / name;
  if (!IsPlainName(name) || !fs::is_directory(path, ec)) {
    return core::NotFound(fmt::format("no model folder '{}' in the repository", name));
  }
  ModelDirectory model{.name = name, .path = path, .config_file = std::nullopt, .versions = {}};
  for (const auto& sub : fs::directory_iterator(path, ec)) {
    const std::string sub_name = sub.path().filename().string();
    if (sub_name == "model.yaml" && sub.is_regular_file(ec)) {
      model.config_file = sub.path();
      model.config_fingerprint = FileFingerprint(sub.path());
    } else if (sub.is_directory(ec)) {
      if (auto version = ParseVersionFolder(sub_name)) {
        model.versions.push_back(*version);
        model.version_fingerprints[*version] = FolderFingerprint(sub.path());
      } else if (!sub_name.starts_with('.') && ignored) {
        ignored->push_back(fmt::format("{}/{}: not a numeric version folder", name, sub_name));
      }
    }
  }
  // The Python files beside model.yaml (a pipeline's steps, a model's hooks) and its text files
  // (an output's class labels) are part of its configuration: editing one reloads the model.
  std::vector<fs::path> python;
  for (const auto& file : fs::directory_iterator(path, ec)) {
    const auto extension = file.path().extension();
    if ((extension == ".py" || extension == ".txt") && file.is_regular_file(ec)) python.push_back(file.path());
  }
  std::sort(python.begin(), python.end());
  for (const auto& file : python) {
    Mix(model.config_fingerprint, file.filename().string());
    Mix(model.config_fingerprint, std::to_string(FileFingerprint(file)));
  }
  std::sort(model.versions.begin(), model.versions.end());
  return model;
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
    if (auto model = ScanModel(root, name, &scan.ignored)) scan.models.push_back(std::move(*model));
  }
  std::sort(scan.models.begin(), scan.models.end(),
            [](const ModelDirectory& a, const ModelDirectory& b) { return a.name < b.name; });
  std::sort(scan.ignored.begin(), scan.ignored.end());
  return scan;
}

}  // namespace ferry::model
