// StreamConfig: what ferry.yaml (`ferry serve --config`) says about Kafka and the streams to run
// (docs/streaming.md):
//
//   kafka:
//     bootstrap_servers: 127.0.0.1:9092
//     properties: {}          # passed to librdkafka: security.protocol, sasl.*, ssl.*, ...; a value
//                             # `file:PATH` is read from the file, `${NAME}` from the environment
//   streams:
//     - name: pima-scoring
//       source: {topic: patients, encoder: json, group: ferry-pima, start_from: latest}
//       model: pima-pipeline  # a pipeline (JSON records) or a model (KServe V2 JSON requests)
//       sink:   {topic: predictions, encoder: json, key: from_source, headers: none}  # copy: keep the event's
//       errors: {topic: patients-errors, tolerance: all}  # none: the stream stops at the first bad event
//       required: true        # a stopped stream makes /v2/health/ready fail
//       batch:  {max_events: 256, max_wait_ms: 5}
//       feedback: {topic: rewards}  # a bandit router's feedback, read by every instance (docs/routing.md)
//   models_topic: {topic: models, start_from: last}   # models published with `ferry publish`
//
// Unknown keys are errors. Plain value types.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace ferry::stream {

enum class StartFrom { kLatest, kEarliest, kCommitted };

struct StreamSpec {
  std::string name;
  std::string source_topic;
  std::string source_encoder = "json";  // json (a record; a V2 request for models) | raw (bytes)
  std::string group;                    // default: ferry-<name>
  StartFrom start_from = StartFrom::kLatest;
  std::string model;
  std::int64_t model_version = 0;
  std::string sink_topic;
  std::string sink_encoder = "json";    // json | raw (the first output's bytes) | none (the event)
  bool key_from_source = true;  // sink key: from_source | none
  bool copy_headers = false;    // sink headers: copy (the event's, then ferry's) | none (ferry's)
  std::string errors_topic;     // where bad events go (required unless !tolerate_errors)
  bool tolerate_errors = true;  // errors tolerance: all | none (the stream stops at a bad event)
  bool required = true;         // the server is not ready while the stream is stopped
  int max_events = 256;
  int max_wait_ms = 5;
  std::string feedback_topic;   // rewards for the stream's router's decisions; empty: none
};

struct StreamConfig {
  std::string bootstrap_servers;
  std::map<std::string, std::string> properties;
  std::vector<StreamSpec> streams;
  std::string models_topic;     // models_topic: {topic, start_from}; empty: none
  bool models_from_last = true;  // start_from: last (default) | earliest
};

core::Result<StreamConfig> ParseStreamConfig(std::string_view yaml, std::string_view source);
core::Result<StreamConfig> LoadStreamConfig(const std::filesystem::path& file);

}  // namespace ferry::stream
