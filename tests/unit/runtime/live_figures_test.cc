// The live figures behind GET /v2/figures (runtime/live_figures.h): rates, quantiles from
// histogram differences, batch sizes, reloaded versions, and the sampling window.
#include "runtime/live_figures.h"

#include <gtest/gtest.h>

#include "protocol/v2_json.h"

namespace ferry::runtime {
namespace {

using namespace std::chrono_literals;

VersionStatistics Version(std::string name, std::uint64_t ok, std::uint64_t failed, std::uint64_t rows,
                          std::uint64_t executions, std::initializer_list<double> latencies_s = {},
                          std::size_t queue = 0) {
  VersionStatistics v{.name = std::move(name), .version = 1, .stats = {}, .queue_depth = queue};
  v.stats.success.count = ok;
  v.stats.fail.count = failed;
  v.stats.inference_count = rows;
  v.stats.execution_count = executions;
  for (double s : latencies_s) v.stats.request_duration.Observe(s);
  return v;
}

TEST(QuantileBetween, InterpolatesWithinTheBucketOfTheNewObservations) {
  sched::Histogram before{sched::kDurationBounds};
  before.Observe(2.0);  // an old, slow request: not in the window
  sched::Histogram after = before;
  for (int i = 0; i < 100; ++i) after.Observe(60e-6);  // (50 µs, 100 µs]
  const auto p50 = QuantileBetween(before, after, 0.5);
  ASSERT_TRUE(p50.has_value());
  EXPECT_NEAR(*p50, 75e-6, 1e-9);  // half-way through the bucket
  EXPECT_NEAR(*QuantileBetween(before, after, 0.99), 99.5e-6, 1e-9);
  EXPECT_FALSE(QuantileBetween(after, after, 0.5).has_value()) << "no new observation";
  sched::Histogram slow = after;
  slow.Observe(60.0);  // past the last bound: its lower bound is what is known
  EXPECT_DOUBLE_EQ(*QuantileBetween(after, slow, 0.99), 10.0);
}

TEST(FiguresBetween, RatesPerSecondBatchSizesAndQueueDepth) {
  const auto before = std::vector{Version("a", 10, 1, 10, 10, {1e-3})};
  const auto after = std::vector{Version("a", 30, 3, 50, 15, {1e-3, 1e-3}, 4), Version("b", 0, 0, 0, 0)};
  const auto figures = FiguresBetween(before, after, 2.0);
  ASSERT_EQ(figures.size(), 2u);
  const ModelFigures& a = figures[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_DOUBLE_EQ(a.requests_per_s, 11.0);  // (30 + 3 - 11) / 2
  EXPECT_DOUBLE_EQ(a.errors_per_s, 1.0);
  EXPECT_DOUBLE_EQ(a.rows_per_s, 20.0);
  ASSERT_TRUE(a.batch_size.has_value());
  EXPECT_DOUBLE_EQ(*a.batch_size, 8.0);  // 40 rows in 5 executions
  ASSERT_TRUE(a.p99_ms.has_value());
  EXPECT_GT(*a.p99_ms, 0.5);
  EXPECT_LE(*a.p99_ms, 1.0);
  EXPECT_EQ(a.queue_depth, 4u);
  EXPECT_EQ(a.requests_total, 33u);
  EXPECT_EQ(a.errors_total, 3u);
  const ModelFigures& b = figures[1];  // new, idle: nothing measured
  EXPECT_DOUBLE_EQ(b.requests_per_s, 0.0);
  EXPECT_FALSE(b.p50_ms.has_value());
  EXPECT_FALSE(b.batch_size.has_value());
}

TEST(FiguresBetween, AReloadedVersionCountsFromZero) {
  const auto before = std::vector{Version("a", 1000, 0, 1000, 1000)};
  const auto after = std::vector{Version("a", 5, 0, 5, 5)};  // counters began again
  const auto figures = FiguresBetween(before, after, 1.0);
  EXPECT_DOUBLE_EQ(figures[0].requests_per_s, 5.0);
  EXPECT_DOUBLE_EQ(figures[0].rows_per_s, 5.0);
}

TEST(LiveFigures, SamplesAtMostEveryIntervalAndSharesTheFigures) {
  LiveFigures live;
  int samples = 0;
  std::uint64_t served = 0;
  const LiveFigures::Sampler sampler = [&] {
    ++samples;
    return std::vector{Version("a", served, 0, served, served)};
  };
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  const auto wall = std::chrono::system_clock::now();
  auto first = live.Report(sampler, t0, wall);
  EXPECT_EQ(first.interval_s, 0.0) << "one sample: no rates yet";
  EXPECT_EQ(first.models.at(0).requests_total, 0u);
  served = 100;
  auto early = live.Report(sampler, t0 + 100ms, wall);  // too soon: the same figures
  EXPECT_EQ(samples, 1);
  EXPECT_EQ(early.models.at(0).requests_total, 0u);
  auto second = live.Report(sampler, t0 + 2s, wall);
  EXPECT_EQ(samples, 2);
  EXPECT_DOUBLE_EQ(second.interval_s, 2.0);
  EXPECT_DOUBLE_EQ(second.models.at(0).requests_per_s, 50.0);
  auto shared = live.Report(sampler, t0 + 2s + 10ms, wall);  // another page, same second
  EXPECT_EQ(samples, 2);
  EXPECT_DOUBLE_EQ(shared.models.at(0).requests_per_s, 50.0);
}

TEST(EncodeFigures, FiguresNotMeasuredAreNull) {
  FiguresReport report{.interval_s = 1.5, .time_ms = 1700000000000, .models = {}};
  report.models.push_back({.name = "a", .version = 2, .requests_per_s = 4, .p50_ms = 0.25, .queue_depth = 3});
  const std::string json = protocol::EncodeFigures(report, true);
  EXPECT_EQ(json,
            R"({"control":true,"interval_s":1.5,"time_ms":1700000000000,"models":[{"name":"a","version":2,)"
            R"("requests_per_s":4,"errors_per_s":0,"rows_per_s":0,"p50_ms":0.25,"p99_ms":null,"batch_size":null,)"
            R"("queue_depth":3,"requests_total":0,"errors_total":0}]})");
}

}  // namespace
}  // namespace ferry::runtime
