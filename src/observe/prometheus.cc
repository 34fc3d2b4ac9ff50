#include "observe/prometheus.h"

#include <charconv>
#include <cmath>

namespace ferry::observe {

void PrometheusWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ");
  for (char c : help) {  // HELP text escapes backslash and newline
    if (c == '\\') out_.append("\\\\");
    else if (c == '\n') out_.append("\\n");
    else out_.push_back(c);
  }
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusWriter::Labels(std::span<const Label> labels, std::string_view le) {
  if (labels.size() == 0 && le.empty()) return;
  out_.push_back('{');
  bool first = true;
  auto one = [&](std::string_view key, std::string_view value) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append(key).append("=\"");
    for (char c : value) {
      if (c == '\\') out_.append("\\\\");
      else if (c == '"') out_.append("\\\"");
      else if (c == '\n') out_.append("\\n");
      else out_.push_back(c);
    }
    out_.push_back('"');
  };
  for (const auto& [key, value] : labels) one(key, value);
  if (!le.empty()) one("le", le);
  out_.push_back('}');
}

void PrometheusWriter::Value(double value) {
  out_.push_back(' ');
  if (std::isnan(value)) {
    out_.append("NaN");
  } else if (std::isinf(value)) {
    out_.append(value > 0 ? "+Inf" : "-Inf");
  } else {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, end);
  }
  out_.push_back('\n');
}

void PrometheusWriter::Sample(std::string_view name, std::span<const Label> labels, double value) {
  out_.append(name);
  Labels(labels);
  Value(value);
}

void PrometheusWriter::Histogram(std::string_view name, std::span<const Label> labels,
                                 std::span<const double> bounds, std::span<const std::uint64_t> counts, double sum,
                                 std::uint64_t count) {
  std::uint64_t cumulative = 0;
  char le[32];
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    std::string_view bound = "+Inf";
    if (i < bounds.size()) {
      auto [end, ec] = std::to_chars(le, le + sizeof le, bounds[i]);
      bound = std::string_view(le, static_cast<std::size_t>(end - le));
    }
    out_.append(name).append("_bucket");
    Labels(labels, bound);
    Value(static_cast<double>(cumulative));
  }
  out_.append(name).append("_sum");
  Labels(labels);
  Value(sum);
  out_.append(name).append("_count");
  Labels(labels);
  Value(static_cast<double>(count));
}

}  // namespace ferry::observe
