#include "stream/offset_ledger.h"

#include <algorithm>

namespace ferry::stream {

OffsetLedger::Batch* OffsetLedger::Open(std::map<std::int32_t, std::int64_t> next_offsets, std::size_t events,
                                        std::vector<std::uint16_t> packet_ids) {
  auto batch = std::make_unique<Batch>();
  batch->next_offsets = std::move(next_offsets);
  batch->packet_ids = std::move(packet_ids);
  batch->events = events;
  batches_.push_back(std::move(batch));
  return batches_.back().get();
}

void OffsetLedger::Expect(Batch* batch) { ++batch->outstanding; }

void OffsetLedger::Acknowledge(Batch* batch) {
  --batch->outstanding;
  if (batch->outstanding == 0 && !cleared_.empty()) {
    std::erase_if(cleared_, [](const auto& b) { return b->outstanding == 0; });
  }
}

void OffsetLedger::Decide(Batch* batch) { batch->decided = true; }

std::map<std::int32_t, std::int64_t> OffsetLedger::TakeCommittable(std::vector<std::uint16_t>* packet_ids) {
  std::map<std::int32_t, std::int64_t> offsets;
  while (!batches_.empty() && batches_.front()->decided && batches_.front()->outstanding == 0) {
    for (const auto& [partition, offset] : batches_.front()->next_offsets) offsets[partition] = offset;
    if (packet_ids) packet_ids->insert(packet_ids->end(), batches_.front()->packet_ids.begin(),
                                       batches_.front()->packet_ids.end());
    batches_.pop_front();
  }
  return offsets;
}

void OffsetLedger::Clear() {
  for (auto& batch : batches_) {
    if (batch->outstanding > 0) cleared_.push_back(std::move(batch));
  }
  batches_.clear();
}

std::size_t OffsetLedger::EventsInFlight() const {
  std::size_t events = 0;
  for (const auto& batch : batches_) events += batch->events;
  return events;
}

std::size_t OffsetLedger::Unacknowledged() const {
  std::size_t messages = 0;
  for (const auto& batch : batches_) messages += batch->outstanding;
  for (const auto& batch : cleared_) messages += batch->outstanding;
  return messages;
}

}  // namespace ferry::stream
