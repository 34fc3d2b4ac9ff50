// The at-least-once bookkeeping of a stream: which source offsets may be committed when.
#include "stream/offset_ledger.h"

#include <gtest/gtest.h>

namespace ferry::stream {
namespace {

using Offsets = std::map<std::int32_t, std::int64_t>;

TEST(OffsetLedgerTest, ABatchCommitsOnceDecidedAndAcknowledged) {
  OffsetLedger ledger;
  auto* batch = ledger.Open({{0, 10}, {1, 4}}, 14);
  ledger.Expect(batch);
  ledger.Expect(batch);
  EXPECT_TRUE(ledger.TakeCommittable().empty()) << "produced, not decided";
  ledger.Decide(batch);
  EXPECT_TRUE(ledger.TakeCommittable().empty()) << "decided, nothing acknowledged";
  ledger.Acknowledge(batch);
  EXPECT_TRUE(ledger.TakeCommittable().empty()) << "one of two acknowledged";
  EXPECT_EQ(ledger.EventsInFlight(), 14u);
  ledger.Acknowledge(batch);
  EXPECT_EQ(ledger.TakeCommittable(), (Offsets{{0, 10}, {1, 4}}));
  EXPECT_EQ(ledger.EventsInFlight(), 0u);
  EXPECT_TRUE(ledger.TakeCommittable().empty()) << "taken once";
}

TEST(OffsetLedgerTest, ABatchOfSkippedEventsCommitsWithNoMessage) {
  OffsetLedger ledger;
  ledger.Decide(ledger.Open({{0, 3}}, 3));
  EXPECT_EQ(ledger.TakeCommittable(), (Offsets{{0, 3}}));
}

TEST(OffsetLedgerTest, OffsetsCommitInOrderOfReading) {
  OffsetLedger ledger;
  auto* first = ledger.Open({{0, 10}}, 10);
  auto* second = ledger.Open({{0, 20}, {1, 5}}, 15);
  ledger.Expect(first);
  ledger.Decide(first);
  ledger.Decide(second);  // the later batch is done first
  EXPECT_TRUE(ledger.TakeCommittable().empty()) << "the earlier batch still waits for its acknowledgement";
  ledger.Acknowledge(first);
  EXPECT_EQ(ledger.TakeCommittable(), (Offsets{{0, 20}, {1, 5}}));
}

// The sequence of issue 16, fault 4: a batch waits for its model (nothing produced yet), and a
// rebalance arrives during the retry. What the rebalance commits must not include the waiting
// batch, whose events have no answer.
TEST(OffsetLedgerTest, ARebalanceDuringBackpressureCommitsNoneOfTheWaitingBatch) {
  OffsetLedger ledger;
  auto* answered = ledger.Open({{0, 100}}, 100);
  ledger.Expect(answered);
  ledger.Decide(answered);
  ledger.Acknowledge(answered);
  auto* waiting = ledger.Open({{0, 164}, {1, 7}}, 71);  // read, then the model became unavailable
  (void)waiting;                                         // retried: nothing produced, not decided
  // The revocation: everything committable is committed, then the ledger forgets.
  EXPECT_EQ(ledger.TakeCommittable(), (Offsets{{0, 100}}));
  EXPECT_EQ(ledger.EventsInFlight(), 71u);
  ledger.Clear();
  EXPECT_TRUE(ledger.TakeCommittable().empty());
  EXPECT_EQ(ledger.EventsInFlight(), 0u);
}

TEST(OffsetLedgerTest, ABatchClearedWithMessagesInFlightIsKeptUntilTheyAreAcknowledged) {
  OffsetLedger ledger;
  auto* batch = ledger.Open({{0, 5}}, 5);
  ledger.Expect(batch);
  ledger.Clear();
  EXPECT_EQ(ledger.Unacknowledged(), 1u);
  ledger.Acknowledge(batch);  // its delivery report arrives after the revocation: still a valid handle
  EXPECT_EQ(ledger.Unacknowledged(), 0u);
  EXPECT_TRUE(ledger.TakeCommittable().empty()) << "a cleared batch never commits";
}

TEST(OffsetLedgerTest, MqttPacketIdsAreAcknowledgedInReceiveOrderOnlyAfterEveryEarlierBatch) {
  OffsetLedger ledger;
  auto* first = ledger.Open({}, 2, {7, 3});
  auto* second = ledger.Open({}, 1, {9});
  ledger.Expect(first);
  ledger.Decide(first);
  ledger.Decide(second);  // nothing to publish (skipped): ready, but behind the first
  std::vector<std::uint16_t> ids;
  ledger.TakeCommittable(&ids);
  EXPECT_TRUE(ids.empty()) << "the first batch's answer is not acknowledged yet";
  ledger.Acknowledge(first);
  ledger.TakeCommittable(&ids);
  EXPECT_EQ(ids, (std::vector<std::uint16_t>{7, 3, 9}));
}

}  // namespace
}  // namespace ferry::stream
