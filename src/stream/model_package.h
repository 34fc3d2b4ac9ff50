// A model version as one file, for delivery over Kafka (`ferry publish`, models_topic): a tar
// archive compressed with zstd (libarchive) holding `version/...` (the files of the version
// folder) and, when there is one, `model.yaml`. Unpacking refuses anything but plain files and
// folders under those names (no absolute paths, no `..`, no links).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ferry::stream {

core::Result<std::string> PackModel(const std::filesystem::path& version_dir,
                                    const std::optional<std::filesystem::path>& config_file);

// Unpacks into `dest` (created): dest/version/..., dest/model.yaml.
core::Result<void> UnpackModel(std::string_view package, const std::filesystem::path& dest);

// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view bytes);

}  // namespace ferry::stream
