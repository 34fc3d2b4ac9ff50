// Model repository scanning: the layout <repo>/<model>/[model.yaml] and <repo>/<model>/<version>/,
// where <version> is a positive decimal integer. Other entries are ignored and reported so that
// the caller can log them. Scanning reads directory entries only; it loads nothing.
// Pure function of the filesystem; safe to call from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace ferry::model {

struct ModelDirectory {
  std::string name;
  std::filesystem::path path;
  std::optional<std::filesystem::path> config_file;  // model.yaml, when present
  std::vector<std::int64_t> versions;               // ascending
};

struct RepositoryScan {
  std::vector<ModelDirectory> models;  // sorted by name
  std::vector<std::string> ignored;    // "pima/latest: not a numeric version folder", ...
};

// Scans `root`. Fails only when root itself is not a readable directory.
core::Result<RepositoryScan> ScanRepository(const std::filesystem::path& root);

// The numeric version a folder name stands for, or nullopt ("01" and "+1" are not versions).
std::optional<std::int64_t> ParseVersionFolder(std::string_view name);

}  // namespace ferry::model
