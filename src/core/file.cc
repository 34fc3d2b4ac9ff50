#include "core/file.h"

#include <fmt/format.h>

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

}  // namespace ferry::core
