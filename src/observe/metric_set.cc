#include "observe/metric_set.h"

namespace ferry::observe {

MetricSet::Family& MetricSet::Find(std::string_view name, std::string_view type, std::string_view help) {
  for (auto& family : families_) {
    if (family.name == name) return family;
  }
  families_.push_back({std::string(name), std::string(type), std::string(help), {}});
  return families_.back();
}

void MetricSet::Counter(std::string_view family, std::string_view help, Labels labels, double value) {
  Find(family, "counter", help).samples.push_back({.labels = std::move(labels), .value = value});
}

void MetricSet::Gauge(std::string_view family, std::string_view help, Labels labels, double value) {
  Find(family, "gauge", help).samples.push_back({.labels = std::move(labels), .value = value});
}

void MetricSet::Histogram(std::string_view family, std::string_view help, Labels labels,
                          std::span<const double> bounds, std::vector<std::uint64_t> counts, double sum,
                          std::uint64_t count) {
  Find(family, "histogram", help)
      .samples.push_back(
          {.labels = std::move(labels), .value = sum, .bounds = bounds, .counts = std::move(counts), .count = count});
}

void MetricSet::Render(PrometheusWriter& w) const {
  std::vector<Label> labels;
  for (const auto& family : families_) {
    w.Family(family.name, family.type, family.help);
    for (const auto& sample : family.samples) {
      labels.clear();
      for (const auto& [key, value] : sample.labels) labels.emplace_back(key, value);
      if (family.type == "histogram") {
        w.Histogram(family.name, labels, sample.bounds, sample.counts, sample.value, sample.count);
      } else {
        w.Sample(family.name, labels, sample.value);
      }
    }
  }
}

}  // namespace ferry::observe
