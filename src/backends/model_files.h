// The files by which a backend recognizes its models in a version folder. Shared by the backends
// and by the registry's stand-ins for plugins not yet loaded: detecting a model's kind never loads
// a plugin. Each function only reads the file system; any thread.
#pragma once

#include <filesystem>
#include <optional>

namespace ferry::backends {

bool HasModelFile(const std::filesystem::path& version_dir, const char* name);

// model.joblib or model.pkl (the sklearn backend), the first present.
std::optional<std::filesystem::path> PickleFile(const std::filesystem::path& version_dir);

// model.json, model.ubj, model.bin or model.bst (the xgboost backend), the first present.
std::optional<std::filesystem::path> XgboostModelFile(const std::filesystem::path& version_dir);
// What IsXgboostModel recognizes, in words, for Backend::Files() and error messages.
inline constexpr char kXgboostFiles[] = "model.json with a learner, model.ubj, model.bin or model.bst";
// True when XgboostModelFile is XGBoost's: a binary format, or a model.json holding a `learner`
// (the linear backend reads another model.json).
bool IsXgboostModel(const std::filesystem::path& version_dir);

}  // namespace ferry::backends
