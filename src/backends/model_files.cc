#include "backends/model_files.h"

#include <simdjson.h>

#include "core/file.h"

namespace ferry::backends {

namespace fs = std::filesystem;

bool HasModelFile(const fs::path& version_dir, const char* name) {
  std::error_code ec;
  return fs::is_regular_file(version_dir / name, ec);
}

std::optional<fs::path> PickleFile(const fs::path& version_dir) {
  for (const char* name : {"model.joblib", "model.pkl"}) {
    if (HasModelFile(version_dir, name)) return version_dir / name;
  }
  return std::nullopt;
}

std::optional<fs::path> XgboostModelFile(const fs::path& version_dir) {
  for (const char* name : {"model.json", "model.ubj", "model.bin", "model.bst"}) {
    if (HasModelFile(version_dir, name)) return version_dir / name;
  }
  return std::nullopt;
}

bool IsXgboostModel(const fs::path& version_dir) {
  const auto file = XgboostModelFile(version_dir);
  if (!file) return false;
  if (file->filename() != "model.json") return true;
  auto text = core::ReadWholeFile(*file);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return text && !parser.parse(*text).get(root) && root.is_object() && !root["learner"].error();
}

}  // namespace ferry::backends
