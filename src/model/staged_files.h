// Model files pushed with a load request (Triton's `file:<version>/<path>` load parameters), written
// to a private staging folder from which the model is then loaded instead of the repository's copy.
//
// A staging folder holds one model folder: <staging>/<name>/<version>/<path>. Paths are refused
// (kInvalidArgument, naming the path) unless they are `<version>/<relative path>` with a version
// number and plain components: no `..` or `.`, no absolute path, no empty component, no
// backslash, no NUL, at most 255 bytes a component and 16 levels. Files are created new in a
// folder made for this load (O_EXCL | O_NOFOLLOW), so no link can redirect a write outside it.
// At most `kMaxFiles` files.
// Thread-compatible: a StagingArea is used by the loader thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ferry::model {

struct ModelFile {
  std::string path;     // "1/model.onnx" (the part after "file:")
  std::string content;  // the bytes
};

inline constexpr std::size_t kMaxFiles = 1000;

// Checks a `file:` path as above; the error names it.
core::Result<void> CheckModelFilePath(std::string_view path);

// Folders under one root (created 0700 when first used; removed, with what is left in it, by the
// destructor). Each Stage() call makes a new folder.
class StagingArea {
 public:
  explicit StagingArea(std::filesystem::path root) : root_(std::move(root)) {}
  ~StagingArea();
  StagingArea(const StagingArea&) = delete;
  StagingArea& operator=(const StagingArea&) = delete;

  // Writes `files` as model `name`'s folder in a new staging folder; returns that folder (the
  // "repository" to scan `name` in). Nothing is left behind on failure.
  core::Result<std::filesystem::path> Stage(std::string_view name, std::span<const ModelFile> files);
  // Removes a folder Stage() returned (no-op when empty).
  static void Remove(const std::filesystem::path& staged);

 private:
  std::filesystem::path root_;
  std::uint64_t next_ = 0;
};

}  // namespace ferry::model
