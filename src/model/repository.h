// Model repository scanning: the layout <repo>/<model>/[model.yaml] and <repo>/<model>/<version>/,
// where <version> is a positive decimal integer. Other entries are ignored and reported so that
// the caller can log them. Scanning reads directory entries only; it loads nothing.
// Pure function of the filesystem; safe to call from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
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
  // Fingerprints tell a changed file from an unchanged one between scans: of model.yaml's
  // content (0 without one), and of each version folder's files (names, sizes, times).
  std::uint64_t config_fingerprint = 0;
  std::map<std::int64_t, std::uint64_t> version_fingerprints;
};

struct RepositoryScan {
  std::vector<ModelDirectory> models;  // sorted by name
  std::vector<std::string> ignored;    // "pima/latest: not a numeric version folder", ...
};

// Scans `root`. Fails only when root itself is not a readable directory.
core::Result<RepositoryScan> ScanRepository(const std::filesystem::path& root);

// Names come from URLs, APIs and Kafka: nothing but a plain folder name may reach the file
// system (not empty, no leading '.', no '/', '\\' or NUL).
bool IsPlainName(std::string_view name);

// Scans one model folder, <root>/<name>. NotFound when it is not there.
core::Result<ModelDirectory> ScanModel(const std::filesystem::path& root, const std::string& name,
                                       std::vector<std::string>* ignored = nullptr);

// The numeric version a folder name stands for, or nullopt ("01" and "+1" are not versions).
std::optional<std::int64_t> ParseVersionFolder(std::string_view name);

}  // namespace ferry::model
