#include "stream/stream_health.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ferry::stream {

std::string_view StateName(StreamState state) {
  switch (state) {
    case StreamState::kStarting: return "starting";
    case StreamState::kAssigned: return "assigned";
    case StreamState::kRunning: return "running";
    case StreamState::kPaused: return "paused";
    case StreamState::kBackingOff: return "backing_off";
    case StreamState::kStopped: return "stopped";
  }
  return "unknown";
}

std::int64_t PartitionProgress::Lag() const {
  if (end < 0) return -1;
  const std::int64_t from = committed >= 0 ? committed : start;
  return from < 0 ? -1 : std::max<std::int64_t>(end - from, 0);
}

void StreamHealth::SetState(StreamState state, std::string reason) {
  std::lock_guard lock(mutex_);
  now_.state = state;
  now_.reason = std::move(reason);
}

void StreamHealth::SetAssignment(const std::vector<std::int32_t>& partitions) {
  std::lock_guard lock(mutex_);
  std::vector<PartitionProgress> kept;
  for (const std::int32_t p : partitions) {
    auto it = std::find_if(now_.partitions.begin(), now_.partitions.end(),
                           [p](const PartitionProgress& q) { return q.partition == p; });
    kept.push_back(it != now_.partitions.end() ? *it : PartitionProgress{.partition = p});
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
  now_.partitions = std::move(kept);
}

void StreamHealth::SetCommitted(const std::map<std::int32_t, std::int64_t>& offsets, bool just_committed) {
  std::lock_guard lock(mutex_);
  for (auto& p : now_.partitions) {
    if (auto it = offsets.find(p.partition); it != offsets.end() && it->second >= 0) {
      p.committed = it->second;
      p.end = std::max(p.end, p.committed);  // the end cannot be before what was read
    }
  }
  if (just_committed) now_.last_commit = Clock::now();
}

void StreamHealth::SetWatermarks(std::int32_t partition, std::int64_t start, std::int64_t end) {
  std::lock_guard lock(mutex_);
  for (auto& p : now_.partitions) {
    if (p.partition == partition) {
      p.start = start;
      p.end = end;
    }
  }
}

void StreamHealth::SetInFlight(std::size_t events) {
  std::lock_guard lock(mutex_);
  now_.in_flight = events;
}

StreamHealth::Snapshot StreamHealth::Read() const {
  std::lock_guard lock(mutex_);
  return now_;
}

std::vector<std::int32_t> StreamHealth::Partitions() const {
  std::lock_guard lock(mutex_);
  std::vector<std::int32_t> out;
  for (const auto& p : now_.partitions) out.push_back(p.partition);
  return out;
}

void StateKeeper::Enter(StreamState next, std::string reason) {
  if (state_ == StreamState::kStopped) return;  // for good
  if (state_ == next && reason_ == reason) return;
  if (next == StreamState::kStopped) {
    spdlog::error("stream '{}' stopped: {}", stream_, reason);
  } else if (next == StreamState::kPaused || next == StreamState::kBackingOff) {
    spdlog::warn("stream '{}' {}: {}", stream_, StateName(next), reason);
  } else if (state_ == StreamState::kPaused || state_ == StreamState::kBackingOff) {
    spdlog::info("stream '{}' {} again", stream_, StateName(next));
  }
  state_ = next;
  reason_ = reason;
  health_.SetState(next, std::move(reason));
}

}  // namespace ferry::stream
