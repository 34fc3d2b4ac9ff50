// Reading a whole file into memory, for the small files ferry reads whole (model.yaml, ferry.yaml,
// token files, warm-up requests, certificates, model packages); writing all of a buffer to a
// file descriptor.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ferry::core {

// The file's bytes; InvalidArgument "<what> <path> cannot be read" when it cannot be opened.
Result<std::string> ReadWholeFile(const std::filesystem::path& file, std::string_view what = "");

// Writes every byte of `bytes` to `fd`, again after EINTR and short writes. False on failure, with
// errno saying why (ENOSPC when the device took nothing).
bool WriteAll(int fd, std::string_view bytes);

}  // namespace ferry::core
