#include "observe/monitor_config.h"

#include <fmt/format.h>

namespace ferry::observe {
namespace {

using core::YamlReader;

template <typename T>
core::Result<void> Set(const YAML::Node& map, std::string_view key, std::string_view where, const YamlReader& r,
                       std::string_view expected, T* value) {
  const YAML::Node node = map[std::string(key)];
  if (!node) return {};
  FERRY_ASSIGN_OR_RETURN(*value, r.Scalar<T>(node, fmt::format("{}.{}", where, key), expected));
  return {};
}

core::Result<void> RequireMap(const YAML::Node& node, std::string_view where, const YamlReader& r,
                              std::string_view shape) {
  if (!node.IsMap()) return r.Fail(node, fmt::format("'{}' must be a map ({})", where, shape));
  return {};
}

core::Result<void> ReadSink(const YAML::Node& sink, const YamlReader& r, MonitorConfig& c) {
  FERRY_RETURN_IF_ERROR(RequireMap(sink, "monitoring.sink", r, "{kafka: {topic: T}} or {file: PATH}"));
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(sink, "monitoring.sink", {"kafka", "file"}));
  if (sink["kafka"] && sink["file"]) return r.Fail(sink, "'monitoring.sink' takes one of 'kafka' and 'file', not both");
  if (const YAML::Node kafka = sink["kafka"]) {
    FERRY_RETURN_IF_ERROR(RequireMap(kafka, "monitoring.sink.kafka", r, "{topic: T}"));
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(kafka, "monitoring.sink.kafka", {"topic"}));
    FERRY_ASSIGN_OR_RETURN(c.topic, r.Scalar<std::string>(kafka["topic"], "monitoring.sink.kafka.topic", "a topic name"));
    if (c.topic.empty()) return r.Fail(kafka, "'monitoring.sink.kafka.topic' must not be empty");
    c.sink = MonitorConfig::Sink::kKafka;
    c.file.clear();
  } else if (const YAML::Node file = sink["file"]) {
    if (file.IsScalar()) {
      c.file = file.Scalar();
    } else {
      FERRY_RETURN_IF_ERROR(RequireMap(file, "monitoring.sink.file", r, "PATH or {path, max_bytes, keep}"));
      FERRY_RETURN_IF_ERROR(r.OnlyKeys(file, "monitoring.sink.file", {"path", "max_bytes", "keep"}));
      FERRY_ASSIGN_OR_RETURN(c.file, r.Scalar<std::string>(file["path"], "monitoring.sink.file.path", "a file path"));
      std::int64_t max_bytes = static_cast<std::int64_t>(c.file_max_bytes);
      FERRY_RETURN_IF_ERROR(Set(file, "max_bytes", "monitoring.sink.file", r, "a number of bytes >= 1024", &max_bytes));
      if (max_bytes < 1024) return r.Fail(file["max_bytes"], "'monitoring.sink.file.max_bytes' must be >= 1024");
      c.file_max_bytes = static_cast<std::uint64_t>(max_bytes);
      FERRY_RETURN_IF_ERROR(Set(file, "keep", "monitoring.sink.file", r, "a count of files >= 1", &c.file_keep));
      if (c.file_keep < 1) return r.Fail(file["keep"], "'monitoring.sink.file.keep' must be >= 1");
    }
    if (c.file.empty()) return r.Fail(file, "'monitoring.sink.file' must name a file");
    c.sink = MonitorConfig::Sink::kFile;
    c.topic.clear();
  }
  return {};
}

core::Result<void> ReadSampling(const YAML::Node& s, const YamlReader& r, MonitorConfig& c) {
  constexpr std::string_view kWhere = "monitoring.sampling";
  FERRY_RETURN_IF_ERROR(RequireMap(s, kWhere, r, "{rate, every, key, always, slow_ms, max_per_s}"));
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(s, kWhere, {"rate", "every", "key", "always", "slow_ms", "max_per_s"}));
  FERRY_RETURN_IF_ERROR(Set(s, "rate", kWhere, r, "a share between 0 and 1", &c.rate));
  if (!(c.rate >= 0 && c.rate <= 1)) return r.Fail(s["rate"], "'monitoring.sampling.rate' must be between 0 and 1");
  std::int64_t every = static_cast<std::int64_t>(c.every);
  FERRY_RETURN_IF_ERROR(Set(s, "every", kWhere, r, "a count >= 0", &every));
  if (every < 0) return r.Fail(s["every"], "'monitoring.sampling.every' must be >= 0");
  c.every = static_cast<std::uint64_t>(every);
  FERRY_RETURN_IF_ERROR(Set(s, "key", kWhere, r, "header:<name> or key", &c.key));
  if (!c.key.empty() && c.key != "key" && !(c.key.starts_with("header:") && c.key.size() > 7)) {
    return r.Fail(s["key"], fmt::format("'monitoring.sampling.key' must be header:<name> or key, got '{}'", c.key));
  }
  if (c.key.starts_with("header:")) {
    for (char& ch : c.key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (const YAML::Node always = s["always"]) {
    if (!always.IsSequence()) return r.Fail(always, "'monitoring.sampling.always' must be a list of error, slow");
    c.always_error = c.always_slow = false;
    for (const auto& item : always) {
      FERRY_ASSIGN_OR_RETURN(const auto what, r.Scalar<std::string>(item, "monitoring.sampling.always", "error or slow"));
      if (what == "error") {
        c.always_error = true;
      } else if (what == "slow") {
        c.always_slow = true;
      } else {
        return r.Fail(item, fmt::format("'monitoring.sampling.always' takes error and slow, got '{}'", what));
      }
    }
  }
  FERRY_RETURN_IF_ERROR(Set(s, "slow_ms", kWhere, r, "milliseconds >= 0", &c.slow_ms));
  if (c.slow_ms < 0) return r.Fail(s["slow_ms"], "'monitoring.sampling.slow_ms' must be >= 0");
  FERRY_RETURN_IF_ERROR(Set(s, "max_per_s", kWhere, r, "records a second >= 0", &c.max_per_s));
  if (!(c.max_per_s >= 0)) return r.Fail(s["max_per_s"], "'monitoring.sampling.max_per_s' must be >= 0");
  return {};
}

core::Result<void> ReadPayload(const YAML::Node& p, const YamlReader& r, MonitorConfig& c) {
  constexpr std::string_view kWhere = "monitoring.payload";
  FERRY_RETURN_IF_ERROR(RequireMap(p, kWhere, r, "{mode, max_bytes, exclude}"));
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(p, kWhere, {"mode", "max_bytes", "exclude"}));
  if (const YAML::Node mode = p["mode"]) {
    FERRY_ASSIGN_OR_RETURN(const auto m, r.Scalar<std::string>(mode, "monitoring.payload.mode",
                                                               "all, request, response or metadata"));
    if (m == "all") {
      c.payload = MonitorConfig::Payload::kAll;
    } else if (m == "request") {
      c.payload = MonitorConfig::Payload::kRequest;
    } else if (m == "response") {
      c.payload = MonitorConfig::Payload::kResponse;
    } else if (m == "metadata") {
      c.payload = MonitorConfig::Payload::kMetadata;
    } else {
      return r.Fail(mode, fmt::format("'monitoring.payload.mode' must be all, request, response or metadata, got '{}'", m));
    }
  }
  std::int64_t max_bytes = static_cast<std::int64_t>(c.max_bytes);
  FERRY_RETURN_IF_ERROR(Set(p, "max_bytes", kWhere, r, "a number of bytes >= 0", &max_bytes));
  if (max_bytes < 0) return r.Fail(p["max_bytes"], "'monitoring.payload.max_bytes' must be >= 0");
  c.max_bytes = static_cast<std::size_t>(max_bytes);
  if (const YAML::Node exclude = p["exclude"]) {
    if (!exclude.IsSequence()) return r.Fail(exclude, "'monitoring.payload.exclude' must be a list of names");
    c.exclude.clear();
    for (const auto& item : exclude) {
      FERRY_ASSIGN_OR_RETURN(auto name, r.Scalar<std::string>(item, "monitoring.payload.exclude", "a name"));
      c.exclude.push_back(std::move(name));
    }
  }
  return {};
}

}  // namespace

std::string MonitorConfig::SinkName() const {
  switch (sink) {
    case Sink::kFile: return "file:" + file;
    case Sink::kKafka: return "kafka:" + topic;
    case Sink::kNone: break;
  }
  return {};
}

std::string_view FormatName(MonitorConfig::Format format) {
  return format == MonitorConfig::Format::kCloudEvents ? "cloudevents" : "json";
}

std::string_view PayloadName(MonitorConfig::Payload payload) {
  switch (payload) {
    case MonitorConfig::Payload::kAll: return "all";
    case MonitorConfig::Payload::kRequest: return "request";
    case MonitorConfig::Payload::kResponse: return "response";
    case MonitorConfig::Payload::kMetadata: return "metadata";
  }
  return "all";
}

core::Result<MonitorConfig> ParseMonitorConfig(const YAML::Node& node, const YamlReader& r,
                                               const MonitorConfig& defaults) {
  MonitorConfig c = defaults;
  if (!node || node.IsNull()) return c;
  if (node.IsScalar()) {
    bool on = true;
    try {
      on = node.as<bool>();
    } catch (const YAML::Exception&) {
      return r.Fail(node, fmt::format("'monitoring' must be a map or off, got '{}'", node.Scalar()));
    }
    c.enabled = on;
    return c;
  }
  FERRY_RETURN_IF_ERROR(RequireMap(node, "monitoring", r, "sink, format, sampling, payload, batching, queue, labels"));
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(node, "monitoring", {"enabled", "sink", "format", "sampling", "payload", "batching",
                                                        "queue", "labels"}));
  FERRY_RETURN_IF_ERROR(Set(node, "enabled", "monitoring", r, "true or false", &c.enabled));
  if (const YAML::Node sink = node["sink"]) FERRY_RETURN_IF_ERROR(ReadSink(sink, r, c));
  if (const YAML::Node format = node["format"]) {
    FERRY_ASSIGN_OR_RETURN(const auto f, r.Scalar<std::string>(format, "monitoring.format", "json or cloudevents"));
    if (f == "json") {
      c.format = MonitorConfig::Format::kJson;
    } else if (f == "cloudevents") {
      c.format = MonitorConfig::Format::kCloudEvents;
    } else {
      return r.Fail(format, fmt::format("'monitoring.format' must be json or cloudevents, got '{}'", f));
    }
  }
  if (const YAML::Node s = node["sampling"]) FERRY_RETURN_IF_ERROR(ReadSampling(s, r, c));
  if (const YAML::Node p = node["payload"]) FERRY_RETURN_IF_ERROR(ReadPayload(p, r, c));
  if (const YAML::Node b = node["batching"]) {
    FERRY_RETURN_IF_ERROR(RequireMap(b, "monitoring.batching", r, "{max_records, linger_ms}"));
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(b, "monitoring.batching", {"max_records", "linger_ms"}));
    std::int64_t max_records = static_cast<std::int64_t>(c.max_records);
    FERRY_RETURN_IF_ERROR(Set(b, "max_records", "monitoring.batching", r, "a count >= 1", &max_records));
    if (max_records < 1) return r.Fail(b["max_records"], "'monitoring.batching.max_records' must be >= 1");
    c.max_records = static_cast<std::size_t>(max_records);
    FERRY_RETURN_IF_ERROR(Set(b, "linger_ms", "monitoring.batching", r, "milliseconds >= 0", &c.linger_ms));
    if (c.linger_ms < 0) return r.Fail(b["linger_ms"], "'monitoring.batching.linger_ms' must be >= 0");
  }
  if (const YAML::Node q = node["queue"]) {
    FERRY_RETURN_IF_ERROR(RequireMap(q, "monitoring.queue", r, "{capacity}"));
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(q, "monitoring.queue", {"capacity"}));
    std::int64_t capacity = static_cast<std::int64_t>(c.capacity);
    FERRY_RETURN_IF_ERROR(Set(q, "capacity", "monitoring.queue", r, "a count >= 1", &capacity));
    if (capacity < 1) return r.Fail(q["capacity"], "'monitoring.queue.capacity' must be >= 1");
    c.capacity = static_cast<std::size_t>(capacity);
  }
  if (const YAML::Node labels = node["labels"]) {
    FERRY_RETURN_IF_ERROR(RequireMap(labels, "monitoring.labels", r, "name: value"));
    for (const auto& item : labels) {
      FERRY_ASSIGN_OR_RETURN(auto key, r.Key(item.first, "monitoring.labels"));
      FERRY_ASSIGN_OR_RETURN(c.labels[key], r.Scalar<std::string>(item.second, "monitoring.labels", "a string"));
    }
  }
  return c;
}

}  // namespace ferry::observe
