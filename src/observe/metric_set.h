// MetricSet: Prometheus samples gathered from many sources (every router reports its own) and
// rendered family by family, so each family's # HELP and # TYPE appear once however many sources
// add to it. Families render in the order first added. Not synchronized: one set per rendering.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "observe/prometheus.h"

namespace ferry::observe {

class MetricSet {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  void Counter(std::string_view family, std::string_view help, Labels labels, double value);
  void Gauge(std::string_view family, std::string_view help, Labels labels, double value);
  // `counts` per bucket (not cumulative): bounds.size() + 1 of them, the last for +Inf.
  void Histogram(std::string_view family, std::string_view help, Labels labels, std::span<const double> bounds,
                 std::vector<std::uint64_t> counts, double sum, std::uint64_t count);

  void Render(PrometheusWriter& w) const;

 private:
  struct Sample {
    Labels labels;
    double value = 0;
    std::span<const double> bounds;
    std::vector<std::uint64_t> counts;
    std::uint64_t count = 0;
  };
  struct Family {
    std::string name, type, help;
    std::vector<Sample> samples;
  };
  Family& Find(std::string_view name, std::string_view type, std::string_view help);

  std::vector<Family> families_;
};

}  // namespace ferry::observe
