#include "observe/monitor_file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/file.h"
#include "core/json_writer.h"

namespace ferry::observe {

core::Result<std::unique_ptr<MonitorFileSink>> MonitorFileSink::Create(std::filesystem::path path,
                                                                       std::uint64_t max_bytes, int keep) {
  std::unique_ptr<MonitorFileSink> sink(new MonitorFileSink(std::move(path), max_bytes, keep));
  FERRY_RETURN_IF_ERROR(sink->Open());
  return sink;
}

MonitorFileSink::~MonitorFileSink() {
  if (fd_ >= 0) ::close(fd_);
}

core::Result<void> MonitorFileSink::Open() {
  std::error_code ec;
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path(), ec);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return core::Unavailable(fmt::format("cannot open the monitoring file {}: {}", path_.string(), std::strerror(errno)));
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return {};
}

core::Result<void> MonitorFileSink::Rotate() {
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  auto numbered = [&](int n) { return std::filesystem::path(path_.string() + "." + std::to_string(n)); };
  std::filesystem::remove(numbered(keep_), ec);
  for (int n = keep_ - 1; n >= 1; --n) {
    if (std::filesystem::exists(numbered(n), ec)) std::filesystem::rename(numbered(n), numbered(n + 1), ec);
  }
  std::filesystem::rename(path_, numbered(1), ec);
  return Open();
}

MonitorSink::Outcome MonitorFileSink::Send(std::span<const MonitorRecord> records, MonitorConfig::Format format) {
  std::lock_guard lock(mutex_);
  Outcome outcome;
  if (fd_ < 0) {
    if (auto opened = Open(); !opened) {
      outcome.failed = records.size();
      outcome.error = opened.error().message;
      return outcome;
    }
  }
  buffer_.clear();
  for (const auto& record : records) {
    if (format == MonitorConfig::Format::kCloudEvents) {
      core::JsonWriter w(buffer_);
      w.BeginObject();
      w.Key("specversion");
      w.String("1.0");
      w.Key("id");
      w.String(record.id);
      w.Key("source");
      w.String(record.source);
      w.Key("type");
      w.String("ferry.inference.record.v1");
      w.Key("time");
      w.String(record.time);
      w.Key("datacontenttype");
      w.String("application/json");
      if (!record.traceparent.empty()) {
        w.Key("traceparent");
        w.String(record.traceparent);
      }
      if (!record.tracestate.empty()) {
        w.Key("tracestate");
        w.String(record.tracestate);
      }
      w.Key("data");
      w.Raw(record.body);
      w.EndObject();
    } else {
      buffer_.append(record.body);
    }
    buffer_.push_back('\n');
  }
  if (size_ > 0 && size_ + buffer_.size() > max_bytes_) {
    if (auto rotated = Rotate(); !rotated) {
      outcome.failed = records.size();
      outcome.error = rotated.error().message;
      return outcome;
    }
  }
  if (!core::WriteAll(fd_, buffer_)) {
    outcome.failed = records.size();
    outcome.error = fmt::format("writing {}: {}", path_.string(), std::strerror(errno));
    return outcome;
  }
  size_ += buffer_.size();
  outcome.sent = records.size();
  return outcome;
}

}  // namespace ferry::observe
