// StreamHealth: what a stream is doing, as GET /v2/streams, /metrics and readiness tell it --
// its state and why, its partitions' progress (committed offset, end, lag), the events in flight
// and when it last committed. Written by the stream's threads, read by any.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::stream {

enum class StreamState {
  kStarting,    // connecting, or waiting for partitions from the group
  kAssigned,    // partitions assigned, no batch answered since
  kRunning,     // answering events
  kPaused,      // consumption paused: the model cannot take the batch now (the reason says why)
  kBackingOff,  // Kafka trouble that heals (broker down, topic missing, authorization): retrying
  kStopped,     // for good, until a restart (the reason says why)
};
inline constexpr StreamState kStreamStates[] = {StreamState::kStarting, StreamState::kAssigned, StreamState::kRunning,
                                                StreamState::kPaused, StreamState::kBackingOff, StreamState::kStopped};
std::string_view StateName(StreamState state);

struct PartitionProgress {
  std::int32_t partition = 0;
  std::int64_t committed = -1;  // the offset the group resumes from; -1: unknown
  std::int64_t end = -1;        // the high watermark; -1: unknown
  std::int64_t start = -1;      // the low watermark; -1: unknown
  // Events not yet committed (end - committed; from the start when nothing was committed), or -1.
  std::int64_t Lag() const;
};

class StreamHealth {
 public:
  using Clock = std::chrono::steady_clock;

  void SetState(StreamState state, std::string reason = {});
  // The partitions now assigned (progress forgotten for those no longer).
  void SetAssignment(const std::vector<std::int32_t>& partitions);
  void SetCommitted(const std::map<std::int32_t, std::int64_t>& offsets, bool just_committed);
  void SetWatermarks(std::int32_t partition, std::int64_t start, std::int64_t end);
  void SetInFlight(std::size_t events);

  struct Snapshot {
    StreamState state = StreamState::kStarting;
    std::string reason;
    std::vector<PartitionProgress> partitions;
    std::size_t in_flight = 0;
    std::optional<Clock::time_point> last_commit;
  };
  Snapshot Read() const;
  std::vector<std::int32_t> Partitions() const;

 private:
  mutable std::mutex mutex_;
  Snapshot now_;
};

// A stream's state as its own thread keeps it (the only writer, so the loop reads it without the
// health's lock), published to its StreamHealth and logged when it changes. After a pause or a
// back-off the state returns to the settled one (starting, assigned or running).
class StateKeeper {
 public:
  StateKeeper(std::string stream, StreamHealth& health) : stream_(std::move(stream)), health_(health) {}

  void Enter(StreamState next, std::string reason = {});  // kStopped is for good
  void Settle(StreamState state) {
    settled_ = state;
    Enter(state);
  }
  void Resume() { Enter(settled_); }
  StreamState state() const { return state_; }
  StreamState settled() const { return settled_; }

 private:
  std::string stream_;
  StreamHealth& health_;
  StreamState state_ = StreamState::kStarting;
  std::string reason_;
  StreamState settled_ = StreamState::kStarting;
};

}  // namespace ferry::stream
