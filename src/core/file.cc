#include "core/file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

#include <fstream>
#include <sstream>

namespace ferry::core {

Result<std::string> ReadWholeFile(const std::filesystem::path& file, std::string_view what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return InvalidArgument(what.empty() ? fmt::format("{}: cannot be read", file.string())
                                        : fmt::format("{} {} cannot be read", what, file.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = ENOSPC;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace ferry::core
