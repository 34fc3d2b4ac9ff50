#include "scheduler/statistics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ferry::sched {
namespace {

using std::chrono::nanoseconds;

TEST(Statistics, CountsRequestsExecutionsRowsAndTimes) {
  Statistics stats;
  const core::ComputeTimes times{.input = nanoseconds(10), .infer = nanoseconds(100), .output = nanoseconds(5)};
  stats.RecordExecution(4, times);
  stats.RecordSuccess(nanoseconds(7), times, nanoseconds(200));
  stats.RecordExecution(1, times);
  stats.RecordSuccess(nanoseconds(3), times, nanoseconds(150));
  stats.RecordExecution(4, times);
  stats.RecordSuccess(nanoseconds(0), times, nanoseconds(120));
  stats.RecordFailure(nanoseconds(9));

  const auto s = stats.Snapshot();
  EXPECT_EQ(s.inference_count, 9u);
  EXPECT_EQ(s.execution_count, 3u);
  EXPECT_GT(s.last_inference_ms, 0);
  EXPECT_EQ(s.success.count, 3u);
  EXPECT_EQ(s.success.ns, 470u);
  EXPECT_EQ(s.fail.count, 1u);
  EXPECT_EQ(s.fail.ns, 9u);
  EXPECT_EQ(s.queue.ns, 10u);
  EXPECT_EQ(s.compute_infer.count, 3u);
  EXPECT_EQ(s.compute_infer.ns, 300u);
  ASSERT_EQ(s.batch_stats.size(), 2u);
  EXPECT_EQ(s.batch_stats[0].batch_size, 1u);
  EXPECT_EQ(s.batch_stats[0].compute_infer.count, 1u);
  EXPECT_EQ(s.batch_stats[1].batch_size, 4u);
  EXPECT_EQ(s.batch_stats[1].compute_input.ns, 20u);
}

TEST(Statistics, ConcurrentRecordingLosesNothing) {
  Statistics stats;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        stats.RecordExecution(2, {});
        stats.RecordSuccess(nanoseconds(1), {}, nanoseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto s = stats.Snapshot();
  EXPECT_EQ(s.execution_count, 4000u);
  EXPECT_EQ(s.inference_count, 8000u);
  EXPECT_EQ(s.success.count, 4000u);
}

}  // namespace
}  // namespace ferry::sched

namespace ferry::sched {
namespace {

TEST(Histogram, CountsEachValueInTheFirstBucketThatHoldsIt) {
  static constexpr double kBounds[] = {1, 5, 10};
  Histogram h{kBounds};
  for (double v : {0.5, 1.0, 2.0, 5.0, 7.0, 100.0}) h.Observe(v);
  EXPECT_EQ(h.counts, (std::vector<std::uint64_t>{2, 2, 1, 1}));
  EXPECT_EQ(h.count, 6u);
  EXPECT_DOUBLE_EQ(h.sum, 115.5);
}

}  // namespace
}  // namespace ferry::sched
