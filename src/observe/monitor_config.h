// MonitorConfig: a `monitoring:` section (docs/monitoring.md) -- in ferry.yaml the default for
// every model, in a model's model.yaml its own, read over that default key by key:
//
//   monitoring:
//     sink: {kafka: {topic: ferry-monitoring}}   # ferry.yaml's kafka connection; or
//           # {file: PATH} / {file: {path: PATH, max_bytes: 67108864, keep: 5}}: JSON lines, rotated by size
//     format: json                  # json | cloudevents (Kafka: ce_* headers; file: structured events)
//     sampling: {rate: 1.0, every: 0, key: header:x-user-id, always: [error, slow], slow_ms: 250, max_per_s: 0}
//     payload: {mode: all, max_bytes: 65536, exclude: [image]}   # all | request | response | metadata
//     batching: {max_records: 500, linger_ms: 200}
//     queue: {capacity: 10000}      # full: records dropped and counted, inference never waits
//     labels: {team: risk}          # copied into every record
//     enabled: true                 # false (or `monitoring: off`): this model is not monitored
//
// Unknown keys are errors naming the file and line. Plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/yaml_reader.h"

namespace ferry::observe {

struct MonitorConfig {
  enum class Sink { kNone, kFile, kKafka };
  enum class Format { kJson, kCloudEvents };
  enum class Payload { kAll, kRequest, kResponse, kMetadata };

  bool enabled = true;
  Sink sink = Sink::kNone;
  std::string file;                             // kFile: the path
  std::uint64_t file_max_bytes = 64ull << 20;   // rotate past this size
  int file_keep = 5;                            // rotated files kept: PATH.1 .. PATH.<keep>
  std::string topic;                            // kKafka
  Format format = Format::kJson;

  double rate = 1.0;        // share of requests recorded, [0, 1]
  std::uint64_t every = 0;  // > 0: every Nth request instead of `rate`
  std::string key;          // "header:<name>" (HTTP header, gRPC metadata, Kafka header) or "key" (a stream event's key)
  bool always_error = false;
  bool always_slow = false;
  std::int64_t slow_ms = 0;  // always: [slow] records requests that took at least this
  double max_per_s = 0;      // records a second at most (0: no limit)

  Payload payload = Payload::kAll;
  std::size_t max_bytes = 65536;     // a tensor's (or a record set's) JSON past this is replaced by its shape
  std::vector<std::string> exclude;  // inputs and outputs (or record fields) never recorded

  std::size_t max_records = 500;  // a batch sent to the sink
  std::int64_t linger_ms = 200;   // how long a partial batch waits
  std::size_t capacity = 10000;   // records waiting at most

  std::map<std::string, std::string> labels;

  // Whether requests are recorded: a sink is set and the section does not turn it off.
  bool active() const { return enabled && sink != Sink::kNone; }
  bool records_request() const { return payload == Payload::kAll || payload == Payload::kRequest; }
  bool records_response() const { return payload == Payload::kAll || payload == Payload::kResponse; }
  // Where records go, to share one sink among the models that name the same place.
  std::string SinkName() const;
};

// Reads `node` (a `monitoring:` section; a map, or false/off) over `defaults`: keys the section
// sets replace the defaults', a sub-map (sampling, payload, ...) key by key.
core::Result<MonitorConfig> ParseMonitorConfig(const YAML::Node& node, const core::YamlReader& reader,
                                               const MonitorConfig& defaults = {});

std::string_view FormatName(MonitorConfig::Format format);
std::string_view PayloadName(MonitorConfig::Payload payload);

}  // namespace ferry::observe
