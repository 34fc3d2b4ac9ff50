// PrometheusWriter: appends metrics in the Prometheus text exposition format (version 0.0.4) to a
// string. Families are declared once with # HELP and # TYPE; samples carry escaped labels.
// Not synchronized; one writer per output string.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace ferry::observe {

using Label = std::pair<std::string_view, std::string_view>;

class PrometheusWriter {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  explicit PrometheusWriter(std::string& out) : out_(out) {}

  // type: counter, gauge or histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, std::span<const Label> labels, double value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    Sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  // `counts` per bucket (not cumulative), bounds.size() + 1 of them, the last for +Inf.
  void Histogram(std::string_view name, std::span<const Label> labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum, std::uint64_t count);
  void Histogram(std::string_view name, std::initializer_list<Label> labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum, std::uint64_t count) {
    Histogram(name, std::span<const Label>(labels.begin(), labels.size()), bounds, counts, sum, count);
  }

 private:
  void Labels(std::span<const Label> labels, std::string_view le = {});
  void Value(double value);

  std::string& out_;
};

}  // namespace ferry::observe
