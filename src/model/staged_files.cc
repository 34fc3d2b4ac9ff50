#include "model/staged_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/file.h"
#include "model/repository.h"

namespace ferry::model {
namespace fs = std::filesystem;

core::Result<void> CheckModelFilePath(std::string_view path) {
  auto refuse = [&](std::string_view why) {
    return core::InvalidArgument(fmt::format("file:{} is refused: {}", path, why));
  };
  if (path.empty()) return refuse("the path is empty (file:<version>/<file>)");
  if (path.front() == '/') return refuse("an absolute path (file:<version>/<file>)");
  if (path.find('\\') != std::string_view::npos || path.find('\0') != std::string_view::npos) {
    return refuse("a backslash or NUL in the path");
  }
  std::size_t depth = 0;
  std::string_view rest = path;
  bool first = true;
  while (true) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty()) return refuse("an empty path component");
    if (part == "." || part == "..") return refuse("'.' and '..' are not allowed");
    if (part.size() > 255) return refuse("a path component longer than 255 bytes");
    if (first && !ParseVersionFolder(std::string(part))) {
      return refuse("the path must start with a version number (file:1/model.onnx)");
    }
    first = false;
    if (++depth > 16) return refuse("more than 16 levels");
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (depth < 2) return refuse("a file goes in a version folder (file:<version>/<file>)");
  return {};
}

StagingArea::~StagingArea() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

void StagingArea::Remove(const fs::path& staged) {
  if (staged.empty()) return;
  std::error_code ec;
  fs::remove_all(staged, ec);
}

core::Result<fs::path> StagingArea::Stage(std::string_view name, std::span<const ModelFile> files) {
  if (files.size() > kMaxFiles) {
    return core::InvalidArgument(fmt::format("{} files in one load: at most {}", files.size(), kMaxFiles));
  }
  for (const auto& file : files) FERRY_RETURN_IF_ERROR(CheckModelFilePath(file.path));
  std::error_code ec;
  fs::create_directories(root_, ec);
  fs::permissions(root_, fs::perms::owner_all, ec);
  const fs::path staged = root_ / fmt::format("{}.{}", name, next_++);
  const fs::path model = staged / std::string(name);
  fs::remove_all(staged, ec);
  if (!fs::create_directories(model, ec) || ec) {
    return core::Internal(fmt::format("cannot make the staging folder {}: {}", model.string(), ec.message()));
  }
  auto fail = [&](std::string message) -> core::Result<fs::path> {
    Remove(staged);
    return core::Internal(std::move(message));
  };
  for (const auto& file : files) {
    const fs::path target = model / file.path;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      Remove(staged);
      return core::InvalidArgument(fmt::format("file:{}: its folder cannot be made (another file there?): {}",
                                               file.path, ec.message()));
    }
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) {
        Remove(staged);
        return core::InvalidArgument(fmt::format("file:{} is given twice", file.path));
      }
      return fail(fmt::format("file:{}: cannot write it: {}", file.path, std::strerror(errno)));
    }
    if (!core::WriteAll(fd, file.content)) {
      const int error = errno;
      ::close(fd);
      return fail(fmt::format("file:{}: cannot write it: {}", file.path, std::strerror(error)));
    }
    if (::close(fd) != 0) return fail(fmt::format("file:{}: cannot write it: {}", file.path, std::strerror(errno)));
  }
  return staged;
}

}  // namespace ferry::model
