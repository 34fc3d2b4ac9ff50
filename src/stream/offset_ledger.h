// OffsetLedger: which source offsets a stream may commit, which MQTT messages it may acknowledge
// (at least once).
//
// Events are read in batches. A batch's offsets become committable once every event of it is
// decided -- its answer or dead letter produced, or nothing to produce (skipped) -- and the
// broker has acknowledged every message produced for it, and only after every batch read before
// it (a partition's offsets are committed in order). What is tracked is events in flight, not
// messages produced: a batch waiting for its model (backpressure) has produced nothing yet and is
// not decided, so a rebalance or a shutdown during the wait commits none of its offsets.
//
// Single-threaded: the stream's thread reads, produces, and runs the delivery reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

namespace ferry::stream {

class OffsetLedger {
 public:
  struct Batch;  // a handle, valid until its messages are acknowledged and it is taken or cleared

  // A batch of `events` events read; `next_offsets`: partition -> the offset after its last event
  // (Kafka); `packet_ids`: the QoS 1 messages to acknowledge, in the order received (MQTT).
  Batch* Open(std::map<std::int32_t, std::int64_t> next_offsets, std::size_t events,
              std::vector<std::uint16_t> packet_ids = {});
  // A message was produced for `batch`; its delivery report will Acknowledge it.
  void Expect(Batch* batch);
  void Acknowledge(Batch* batch);
  // Every event of `batch` has its message(s) produced, or needs none.
  void Decide(Batch* batch);

  // Takes the batches at the front that are decided and acknowledged; returns the offsets they
  // let commit (partition -> offset to resume from), empty when none, and appends their packet
  // ids to `packet_ids` when given.
  std::map<std::int32_t, std::int64_t> TakeCommittable(std::vector<std::uint16_t>* packet_ids = nullptr);

  // Forgets every batch (the partitions were revoked, or the stream stops): their events will be
  // read again from the last commit. Batches with messages still unacknowledged are kept aside
  // until their delivery reports arrive.
  void Clear();

  std::size_t EventsInFlight() const;  // read and not yet taken
  std::size_t Unacknowledged() const;  // messages produced and not yet acknowledged, all batches

 private:
  std::deque<std::unique_ptr<Batch>> batches_;
  std::deque<std::unique_ptr<Batch>> cleared_;  // forgotten, awaiting delivery reports
};

struct OffsetLedger::Batch {
  std::map<std::int32_t, std::int64_t> next_offsets;
  std::vector<std::uint16_t> packet_ids;
  std::size_t events = 0;
  std::size_t outstanding = 0;
  bool decided = false;
};

}  // namespace ferry::stream
