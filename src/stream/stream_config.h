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
//       # reply: {}           # requests: answered on their kafka_replyTopic header's topic
//       model: pima-pipeline  # a pipeline (JSON records) or a model (KServe V2 JSON requests)
//       sink:   {topic: predictions, encoder: json, key: from_source, headers: none}  # copy: keep the event's
//       errors: {topic: patients-errors, tolerance: all}  # none: the stream stops at the first bad event
//       required: true        # a stopped stream makes /v2/health/ready fail
//       batch:  {max_events: 256, max_wait_ms: 5}
//       feedback: {topic: rewards}  # a bandit router's feedback, read by every instance (docs/routing.md)
//       explain: {top_k: 3}   # answers carry their top reasons (docs/explain.md)
//   models_topic: {topic: models, start_from: last}   # models published with `ferry publish`
//   monitoring: {sink: {kafka: {topic: ferry-monitoring}}, sampling: {rate: 0.05}}  # every model's
//                           # default monitoring stream (observe/monitor_config.h, docs/monitoring.md)
//
//   mqtt:                     # streams on MQTT topics (docs/streaming.md#mqtt)
//     broker: mqtt://127.0.0.1:1883   # mqtts:// for TLS
//     client_id: ferry-1      # default ferry-<host name>; each stream connects as <client_id>-<stream>
//     version: 5              # 5 | 3.1.1
//     username: ${MQTT_USER}  # and password; `file:PATH` and `${NAME}` as for kafka properties
//     keep_alive_s: 30
//     session_expiry_s: 86400 # how long the broker keeps a stopped instance's messages (MQTT 5)
//     tls: {ca: ca.pem, cert: client.pem, key: client.key, verify_host: true}
//   streams:
//     - name: sensors
//       source: {mqtt: {topic: "plant/+/readings", qos: 1, shared_group: ferry}, encoder: json}
//       model: anomaly
//       sink:   {mqtt: {topic: "plant/{1}/scores", qos: 1}}   # {1}: the first wildcard's level
//       errors: {mqtt: {topic: "plant/errors"}}
//
// A stream may read one transport and answer on the other (source mqtt, sink and errors kafka,
// or the reverse); the error topic is on the sink's.
// Unknown keys are errors. Plain value types.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "observe/monitor_config.h"

namespace ferry::stream {

enum class StartFrom { kLatest, kEarliest, kCommitted };

enum class Transport { kKafka, kMqtt };
inline std::string_view TransportName(Transport t) { return t == Transport::kMqtt ? "mqtt" : "kafka"; }

// What an MQTT stream adds (its topics are StreamSpec's: the source a filter, the sink and error
// topics patterns that may take the source's wildcard levels as {1}, {2}, ...).
struct MqttStreamSpec {
  int source_qos = 1;
  std::string shared_group;  // subscribe as $share/<group>/<filter>: replicas split the messages
  bool retained = false;     // answer retained messages too (default: acknowledged, not answered)
  int sink_qos = 1;
  int errors_qos = 1;
  int in_flight = 0;         // messages the broker may send before ferry acknowledges (0: 2 x max_events)
};

// The headers a Kafka request names its reply by (a Kafka source's `reply: {}`; the defaults are
// Spring Kafka's ReplyingKafkaTemplate's). Empty topic: the stream takes no requests.
struct ReplyHeaders {
  std::string topic, correlation = "kafka_correlationId", partition;
};

struct MqttConfig {
  std::string broker;  // empty: no mqtt section
  std::string client_id;
  std::string version = "5";  // 5 | 3.1.1
  std::string username, password;
  bool has_username = false, has_password = false;
  int keep_alive_s = 30;
  std::int64_t session_expiry_s = 86400;
  std::string tls_ca, tls_cert, tls_key;
  bool tls_verify_host = true;
};

struct StreamSpec {
  std::string name;
  Transport source_transport = Transport::kKafka;
  Transport sink_transport = Transport::kKafka;  // the sink's and the error topic's
  MqttStreamSpec mqtt;
  ReplyHeaders reply;  // a Kafka source's requests
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
  // explain: {top_k: N}: each answer carries its N largest feature contributions (0: all) as
  // "explanations" (docs/explain.md), a pipeline's by record field; -1: no explanations.
  int explain_top_k = -1;
};

struct StreamConfig {
  std::string bootstrap_servers;
  std::map<std::string, std::string> properties;
  MqttConfig mqtt;
  std::vector<StreamSpec> streams;
  std::string models_topic;     // models_topic: {topic, start_from}; empty: none
  bool models_from_last = true;  // start_from: last (default) | earliest
  // `monitoring:` the default monitoring stream of every model (docs/monitoring.md).
  observe::MonitorConfig monitoring;
};

core::Result<StreamConfig> ParseStreamConfig(std::string_view yaml, std::string_view source);
core::Result<StreamConfig> LoadStreamConfig(const std::filesystem::path& file);

}  // namespace ferry::stream
