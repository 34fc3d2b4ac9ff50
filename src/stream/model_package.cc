#include "stream/model_package.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <vector>

#include "core/file.h"

namespace ferry::stream {
namespace {

namespace fs = std::filesystem;

struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t Append(archive*, void* client, const void* buffer, std::size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

core::Result<void> AddFile(archive* a, const std::string& name, const std::string& content) {
  std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(content.size()));
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK ||
      archive_write_data(a, content.data(), content.size()) != static_cast<la_ssize_t>(content.size())) {
    return core::Internal(fmt::format("packing {}: {}", name, archive_error_string(a)));
  }
  return {};
}

// A member name of a package: "model.yaml" or "version/<relative path>" without `..`.
bool SafeName(const std::string& name) {
  if (name == "model.yaml") return true;
  if (!name.starts_with("version/") || name.find('\0') != std::string::npos) return false;
  for (const auto& part : fs::path(name)) {
    if (part == ".." || part == "." || part.empty()) return false;
  }
  return !fs::path(name).is_absolute();
}

}  // namespace

core::Result<std::string> PackModel(const fs::path& version_dir, const std::optional<fs::path>& config_file) {
  std::error_code ec;
  if (!fs::is_directory(version_dir, ec)) {
    return core::InvalidArgument(fmt::format("{} is not a folder", version_dir.string()));
  }
  std::string out;
  std::unique_ptr<archive, WriteDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK) {
    return core::Internal(fmt::format("libarchive has no zstd: {}", archive_error_string(a.get())));
  }
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &out, nullptr, &Append, nullptr) != ARCHIVE_OK) {
    return core::Internal(fmt::format("packing: {}", archive_error_string(a.get())));
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(version_dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return core::InvalidArgument(fmt::format("{} holds no file", version_dir.string()));
  for (const auto& file : files) {
    FERRY_ASSIGN_OR_RETURN(auto content, core::ReadWholeFile(file));
    FERRY_RETURN_IF_ERROR(AddFile(a.get(), "version/" + fs::relative(file, version_dir).generic_string(), content));
  }
  if (config_file) {
    FERRY_ASSIGN_OR_RETURN(auto content, core::ReadWholeFile(*config_file));
    FERRY_RETURN_IF_ERROR(AddFile(a.get(), "model.yaml", content));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return core::Internal(fmt::format("packing: {}", archive_error_string(a.get())));
  }
  return out;
}

core::Result<void> UnpackModel(std::string_view package, const fs::path& dest) {
  std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), package.data(), package.size()) != ARCHIVE_OK) {
    return core::InvalidArgument(fmt::format("not a model package: {}", archive_error_string(a.get())));
  }
  std::error_code ec;
  fs::create_directories(dest / "version", ec);
  if (ec) return core::Internal(fmt::format("{}: {}", dest.string(), ec.message()));
  archive_entry* entry = nullptr;
  int files = 0;
  while (true) {
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return core::InvalidArgument(fmt::format("damaged model package: {}", archive_error_string(a.get())));
    const std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (archive_entry_filetype(entry) == AE_IFDIR) continue;
    if (archive_entry_filetype(entry) != AE_IFREG || !SafeName(name)) {
      return core::InvalidArgument(fmt::format("model package member '{}' is not a plain file under version/", name));
    }
    const fs::path target = dest / name;
    fs::create_directories(target.parent_path(), ec);
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    char buffer[65536];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a.get(), buffer, sizeof buffer)) > 0) out.write(buffer, n);
    if (n < 0) return core::InvalidArgument(fmt::format("damaged model package: {}", archive_error_string(a.get())));
    if (!out) return core::Internal(fmt::format("{}: cannot be written", target.string()));
    ++files;
  }
  if (files == 0) return core::InvalidArgument("the model package holds no file");
  return {};
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace ferry::stream
