// MonitorFileSink: monitoring records as JSON lines in a file (sink: {file: PATH}), one record a
// line, appended and written out batch by batch. Past `max_bytes` the file is rotated: PATH
// becomes PATH.1, PATH.1 becomes PATH.2, ... and the oldest past `keep` is removed. With format
// cloudevents each line is a structured-mode CloudEvent whose `data` is the record.
// Thread safety: Send may be called from several monitors at once (they share the file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"
#include "observe/monitor.h"

namespace ferry::observe {

class MonitorFileSink final : public MonitorSink {
 public:
  // Opens (creates) the file for appending, and its folder when missing.
  static core::Result<std::unique_ptr<MonitorFileSink>> Create(std::filesystem::path path, std::uint64_t max_bytes,
                                                               int keep);
  ~MonitorFileSink() override;

  Outcome Send(std::span<const MonitorRecord> records, MonitorConfig::Format format) override;
  std::string Describe() const override { return "file " + path_.string(); }

 private:
  MonitorFileSink(std::filesystem::path path, std::uint64_t max_bytes, int keep)
      : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {}
  core::Result<void> Open();
  core::Result<void> Rotate();

  const std::filesystem::path path_;
  const std::uint64_t max_bytes_;
  const int keep_;

  std::mutex mutex_;
  // Protected by mutex_.
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string buffer_;
};

}  // namespace ferry::observe
