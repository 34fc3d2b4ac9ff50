#include "observe/prometheus.h"

#include <gtest/gtest.h>

namespace ferry::observe {
namespace {

TEST(PrometheusWriter, WritesFamiliesSamplesAndEscapedLabels) {
  std::string out;
  PrometheusWriter w(out);
  w.Family("ferry_x_total", "counter", "Things\\counted.");
  w.Sample("ferry_x_total", {{"model", "a\"b\\c\nd"}, {"version", "1"}}, 3);
  w.Sample("ferry_x_total", {}, 0.5);
  EXPECT_EQ(out,
            "# HELP ferry_x_total Things\\\\counted.\n"
            "# TYPE ferry_x_total counter\n"
            "ferry_x_total{model=\"a\\\"b\\\\c\\nd\",version=\"1\"} 3\n"
            "ferry_x_total 0.5\n");
}

TEST(PrometheusWriter, HistogramBucketsAreCumulativeWithInf) {
  std::string out;
  PrometheusWriter w(out);
  const double bounds[] = {0.001, 0.01};
  const std::uint64_t counts[] = {2, 3, 1};
  w.Histogram("h", {{"m", "x"}}, bounds, counts, 0.25, 6);
  EXPECT_EQ(out,
            "h_bucket{m=\"x\",le=\"0.001\"} 2\n"
            "h_bucket{m=\"x\",le=\"0.01\"} 5\n"
            "h_bucket{m=\"x\",le=\"+Inf\"} 6\n"
            "h_sum{m=\"x\"} 0.25\n"
            "h_count{m=\"x\"} 6\n");
}

}  // namespace
}  // namespace ferry::observe
