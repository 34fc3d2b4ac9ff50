// Reading a whole file into memory, for the small files ferry reads whole (model.yaml, ferry.yaml,
// token files, warm-up requests, certificates, model packages).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ferry::core {

// The file's bytes; InvalidArgument "<what> <path> cannot be read" when it cannot be opened.
Result<std::string> ReadWholeFile(const std::filesystem::path& file, std::string_view what = "");

}  // namespace ferry::core
