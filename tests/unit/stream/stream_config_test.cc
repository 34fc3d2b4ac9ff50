// ferry.yaml parsing: defaults, every key, and errors that name the line and the key; and the
// Kafka properties passed through to librdkafka.
#include "stream/stream_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "stream/kafka/kafka_client.h"

namespace ferry::stream {
namespace {

constexpr std::string_view kFull = R"(kafka:
  bootstrap_servers: 127.0.0.1:9092
  properties: {security.protocol: ssl, session.timeout.ms: "6000"}
models_topic: {topic: models, start_from: earliest}
streams:
  - name: pima-scoring
    source: {topic: patients, encoder: json, group: g, start_from: earliest}
    model: pima-pipeline
    version: 3
    sink:   {topic: predictions, encoder: none, key: none, headers: copy}
    errors: {topic: patients-errors}
    batch:  {max_events: 64, max_wait_ms: 2}
    required: false
  - name: raw
    source: {topic: texts, encoder: raw}
    model: echo
    sink: {topic: echoes, encoder: raw}
    errors: {tolerance: none}
)";

TEST(StreamConfig, ReadsEveryKeyAndAppliesDefaults) {
  auto config = ParseStreamConfig(kFull, "ferry.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->bootstrap_servers, "127.0.0.1:9092");
  EXPECT_EQ(config->properties.at("session.timeout.ms"), "6000");
  EXPECT_EQ(config->models_topic, "models");
  EXPECT_FALSE(config->models_from_last);
  ASSERT_EQ(config->streams.size(), 2u);
  const StreamSpec& s = config->streams[0];
  EXPECT_EQ(s.group, "g");
  EXPECT_EQ(s.start_from, StartFrom::kEarliest);
  EXPECT_EQ(s.model_version, 3);
  EXPECT_EQ(s.sink_encoder, "none");
  EXPECT_FALSE(s.key_from_source);
  EXPECT_EQ(s.max_events, 64);
  EXPECT_EQ(s.max_wait_ms, 2);
  EXPECT_TRUE(s.copy_headers);
  EXPECT_TRUE(s.tolerate_errors);
  EXPECT_FALSE(s.required);
  const StreamSpec& r = config->streams[1];
  EXPECT_EQ(r.group, "ferry-raw");
  EXPECT_EQ(r.start_from, StartFrom::kLatest);
  EXPECT_EQ(r.source_encoder, "raw");
  EXPECT_TRUE(r.key_from_source);
  EXPECT_EQ(r.max_events, 256);
  EXPECT_EQ(r.max_wait_ms, 5);
  EXPECT_FALSE(r.copy_headers);
  EXPECT_FALSE(r.tolerate_errors);
  EXPECT_EQ(r.errors_topic, "");  // tolerance none: no error topic needed
  EXPECT_TRUE(r.required);
  EXPECT_TRUE(ParseStreamConfig("", "empty.yaml")->streams.empty());
}

void ExpectError(std::string_view yaml, std::string_view fragment) {
  auto config = ParseStreamConfig(yaml, "ferry.yaml");
  ASSERT_FALSE(config.has_value()) << yaml;
  EXPECT_NE(config.error().message.find(fragment), std::string::npos) << config.error().message;
}

TEST(StreamConfig, ErrorsNameTheLineAndTheKey) {
  const std::string head = "kafka: {bootstrap_servers: b}\nstreams:\n";
  ExpectError("streams:\n  - {name: s, source: {topic: a}, model: m, sink: {topic: b}, errors: {topic: e}}\n",
              "stream 's' needs kafka");
  ExpectError("kafka: {bootstrap_servers: b, bogus: 1}\n", "ferry.yaml:1: unknown key 'bogus' in kafka");
  ExpectError(head + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b}}\n",
              "needs 'errors: {topic: ...}'");
  ExpectError(head + "  - {name: s, source: {topic: a, encoder: avro}, model: m, sink: {topic: b}, errors: {topic: e}}\n",
              "source encoder must be json");
  ExpectError(head + "  - {name: s, source: {topic: a}, model: m, sink: {topic: a}, errors: {topic: e}}\n",
              "must differ from the source topic");
  ExpectError(head + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b}, errors: {topic: e}, "
                     "batch: {max_events: 0}}\n",
              "'max_events' must be between 1 and 100000");
  ExpectError(head + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b}, errors: {topic: e}}\n"
                     "  - {name: s, source: {topic: c}, model: m, sink: {topic: d}, errors: {topic: e}}\n",
              "ferry.yaml:4: two streams are named 's'");
  ExpectError("kafka: {bootstrap_servers: b}\nmodels_topic: {topic: m, start_from: never}\n",
              "start_from must be last or earliest");
  ExpectError("kafka: [\n", "not valid YAML");
  ExpectError(head + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b}, errors: {tolerance: some}}\n",
              "errors tolerance must be all");
  ExpectError(head + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b}, errors: {tolerance: all}}\n",
              "needs 'topic'");
  ExpectError(head + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b, headers: all}, errors: {topic: e}}\n",
              "sink headers must be copy or none");
}

// Secrets stay out of ferry.yaml: a property's value may come from the environment or a file.
TEST(StreamConfig, MqttStreams) {
  ::setenv("FERRY_TEST_MQTT_USER", "scorer", 1);
  auto config = ParseStreamConfig(R"(mqtt:
  broker: mqtts://broker.example:8884
  client_id: ferry-1
  version: 3.1.1
  username: ${FERRY_TEST_MQTT_USER}
  tls: {ca: ca.pem, verify_host: false}
streams:
  - name: sensors
    source: {mqtt: {topic: "plant/+/readings/#", qos: 0, shared_group: g, retained: true, in_flight: 50}}
    model: anomaly
    sink: {mqtt: {topic: "plant/{1}/scores/{2}", qos: 0}, encoder: raw}
    errors: {mqtt: {topic: "plant/{1}/errors"}}
)", "ferry.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->mqtt.broker, "mqtts://broker.example:8884");
  EXPECT_EQ(config->mqtt.version, "3.1.1");
  EXPECT_EQ(config->mqtt.username, "scorer");
  EXPECT_TRUE(config->mqtt.has_username);
  EXPECT_FALSE(config->mqtt.has_password);
  EXPECT_EQ(config->mqtt.tls_ca, "ca.pem");
  EXPECT_FALSE(config->mqtt.tls_verify_host);
  const StreamSpec& s = config->streams.at(0);
  EXPECT_EQ(s.source_transport, Transport::kMqtt);
  EXPECT_EQ(s.sink_transport, Transport::kMqtt);
  EXPECT_EQ(s.source_topic, "plant/+/readings/#");
  EXPECT_EQ(s.mqtt.source_qos, 0);
  EXPECT_EQ(s.mqtt.shared_group, "g");
  EXPECT_TRUE(s.mqtt.retained);
  EXPECT_EQ(s.mqtt.in_flight, 50);
  EXPECT_EQ(s.sink_topic, "plant/{1}/scores/{2}");
  EXPECT_EQ(s.sink_encoder, "raw");
  EXPECT_EQ(s.mqtt.sink_qos, 0);
  EXPECT_EQ(s.errors_topic, "plant/{1}/errors");
  EXPECT_EQ(s.mqtt.errors_qos, 1);

  const std::string head = "mqtt: {broker: mqtt://b}\nstreams:\n";
  ExpectError("mqtt: {client_id: x}\n", "mqtt needs 'broker'");
  ExpectError("mqtt: {broker: http://b}\n", "must be mqtt:// or mqtts://");
  ExpectError("mqtt: {broker: mqtt://b, version: 4}\n", "version must be 5 or 3.1.1");
  ExpectError("streams:\n  - {name: s, source: {mqtt: {topic: a}}, model: m, sink: {mqtt: {topic: b}}, errors: "
              "{mqtt: {topic: e}}}\n", "needs mqtt: {broker");
  ExpectError(head + "  - {name: s, source: {mqtt: {topic: a/#/b}}, model: m, sink: {mqtt: {topic: b}}, errors: "
                     "{mqtt: {topic: e}}}\n", "not an MQTT topic filter");
  ExpectError(head + "  - {name: s, source: {mqtt: {topic: a/+, qos: 2}}, model: m, sink: {mqtt: {topic: b}}, errors: "
                     "{mqtt: {topic: e}}}\n", "'qos' must be between 0 and 1");
  ExpectError(head + "  - {name: s, source: {mqtt: {topic: a/+}}, model: m, sink: {mqtt: {topic: 'b/{2}'}}, errors: "
                     "{mqtt: {topic: e}}}\n", "{2} but the source filter has 1 wildcard");
  ExpectError(head + "  - {name: s, source: {mqtt: {topic: a/+}}, model: m, sink: {mqtt: {topic: a/x}}, errors: "
                     "{mqtt: {topic: e}}}\n", "must not match the source filter");
  ExpectError(head + "  - {name: s, source: {mqtt: {topic: a/+}}, model: m, sink: {topic: b}, errors: "
                     "{mqtt: {topic: e}}}\n", "the error topic must be on Kafka like the sink");
  ExpectError(head + "  - {name: s, source: {mqtt: {topic: a/+}}, model: m, sink: {mqtt: {topic: b}}, errors: "
                     "{topic: e}}\n", "the error topic must be on MQTT");
  ExpectError(head + "  - {name: s, source: {mqtt: {topic: a/+, group: g}}, model: m, sink: {mqtt: {topic: b}}, "
                     "errors: {mqtt: {topic: e}}}\n", "unknown key 'group' in stream 's' source mqtt");
}

TEST(StreamConfig, MixedTransportsAndKafkaRequests) {
  auto config = ParseStreamConfig(R"(kafka: {bootstrap_servers: k:9092}
mqtt: {broker: mqtt://b}
streams:
  - name: up
    source: {mqtt: {topic: "plant/+/readings"}}
    model: m
    sink: {topic: scores, headers: copy}
    errors: {topic: scores-errors}
  - name: down
    source: {topic: commands, reply: {}}
    model: m
    sink: {mqtt: {topic: devices/commands}}
    errors: {mqtt: {topic: devices/errors}}
  - name: rpc
    source: {topic: requests, reply: {topic_header: reply-to, correlation_header: id, partition_header: reply-partition}}
    model: m
    sink: {topic: answers}
    errors: {topic: requests-errors}
)", "ferry.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  const auto& up = config->streams.at(0);
  EXPECT_EQ(up.source_transport, Transport::kMqtt);
  EXPECT_EQ(up.sink_transport, Transport::kKafka);
  EXPECT_TRUE(up.copy_headers);
  EXPECT_EQ(up.errors_topic, "scores-errors");
  const auto& down = config->streams.at(1);
  EXPECT_EQ(down.source_transport, Transport::kKafka);
  EXPECT_EQ(down.sink_transport, Transport::kMqtt);
  EXPECT_EQ(down.reply.topic, "kafka_replyTopic");  // Spring Kafka's names
  EXPECT_EQ(down.reply.correlation, "kafka_correlationId");
  EXPECT_EQ(down.reply.partition, "kafka_replyPartition");
  const auto& rpc = config->streams.at(2);
  EXPECT_EQ(rpc.reply.topic, "reply-to");
  EXPECT_EQ(rpc.reply.correlation, "id");
  EXPECT_EQ(rpc.reply.partition, "reply-partition");
  EXPECT_TRUE(config->streams.at(0).reply.topic.empty()) << "no requests unless asked";

  const std::string mqtt_only = "mqtt: {broker: mqtt://b}\nstreams:\n";
  ExpectError(mqtt_only + "  - {name: s, source: {mqtt: {topic: a/+}}, model: m, sink: {topic: b}, errors: "
                          "{topic: e}}\n", "stream 's' needs kafka");
  const std::string kafka_only = "kafka: {bootstrap_servers: k}\nstreams:\n";
  ExpectError(kafka_only + "  - {name: s, source: {topic: a}, model: m, sink: {mqtt: {topic: b}}, errors: "
                           "{mqtt: {topic: e}}}\n", "stream 's' needs mqtt");
  const std::string both = "kafka: {bootstrap_servers: k}\nmqtt: {broker: mqtt://b}\nstreams:\n";
  ExpectError(both + "  - {name: s, source: {topic: a}, model: m, sink: {mqtt: {topic: 'b/{1}'}}, errors: "
                     "{mqtt: {topic: e}}}\n", "a Kafka source has no wildcard levels");
  ExpectError(both + "  - {name: s, source: {topic: a, reply: {topic_header: ''}}, model: m, sink: {topic: b}, "
                     "errors: {topic: e}}\n", "'topic_header' must be a name");
  ExpectError(both + "  - {name: s, source: {topic: a, reply: {header: x}}, model: m, sink: {topic: b}, "
                     "errors: {topic: e}}\n", "unknown key 'header'");
  ExpectError(both + "  - {name: s, source: {mqtt: {topic: a/+}}, model: m, sink: {topic: b}, errors: {topic: e}, "
                     "feedback: {topic: f}}\n", "an MQTT source takes none");
  ExpectError(kafka_only + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b, encoder: raw}, "
                           "errors: {topic: e}, explain: {top_k: 3}}\n", "explanations are added to JSON answers");
  ExpectError(kafka_only + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b}, errors: {topic: e}, "
                           "explain: {top_k: -1}}\n", "top_k");
  auto explained = ParseStreamConfig(kafka_only + "  - {name: s, source: {topic: a}, model: m, sink: {topic: b}, "
                                                  "errors: {topic: e}, explain: {top_k: 3}}\n", "ferry.yaml");
  ASSERT_TRUE(explained.has_value()) << explained.error().message;
  EXPECT_EQ(explained->streams.at(0).explain_top_k, 3);
  EXPECT_EQ(config->streams.at(0).explain_top_k, -1) << "no explanations unless asked";
  // One topic name on two transports is two topics.
  auto same_name = ParseStreamConfig(both + "  - {name: s, source: {mqtt: {topic: a}}, model: m, sink: {topic: a}, "
                                            "errors: {topic: e}}\n", "ferry.yaml");
  EXPECT_TRUE(same_name.has_value()) << same_name.error().message;
}

TEST(StreamConfig, PropertiesFromTheEnvironmentAndFiles) {
  const auto secret = std::filesystem::temp_directory_path() / ("ferry_secret_" + std::to_string(::getpid()));
  {
    std::ofstream out(secret);
    out << "s3cret\n";
  }
  ::setenv("FERRY_TEST_KAFKA_USER", "alice", 1);
  ::unsetenv("FERRY_TEST_UNSET");
  auto config = ParseStreamConfig(
      "kafka:\n  bootstrap_servers: b\n  properties:\n"
      "    sasl.username: ${FERRY_TEST_KAFKA_USER}\n"
      "    client.id: ferry-${FERRY_TEST_KAFKA_USER}-1\n"
      "    sasl.password: file:" + secret.string() + "\n",
      "ferry.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->properties.at("sasl.username"), "alice");
  EXPECT_EQ(config->properties.at("client.id"), "ferry-alice-1");
  EXPECT_EQ(config->properties.at("sasl.password"), "s3cret");  // the trailing newline dropped
  ExpectError("kafka:\n  bootstrap_servers: b\n  properties:\n    sasl.password: ${FERRY_TEST_UNSET}\n",
              "ferry.yaml:4: kafka property 'sasl.password': environment variable 'FERRY_TEST_UNSET' is not set");
  ExpectError("kafka:\n  bootstrap_servers: b\n  properties: {sasl.password: file:/nonexistent/secret}\n",
              "kafka property 'sasl.password': cannot read '/nonexistent/secret'");
  ExpectError("kafka:\n  bootstrap_servers: b\n  properties: {sasl.password: \"${OPEN\"}\n", "without its '}'");
  std::filesystem::remove(secret);
}

// docs/streaming.md's Credentials example takes the brokers from the environment too (as a
// Kubernetes manifest does, deploy/kubernetes/kafka).
TEST(StreamConfig, BootstrapServersFromTheEnvironment) {
  ::setenv("FERRY_TEST_KAFKA_BOOTSTRAP", "kafka-0:9093,kafka-1:9093", 1);
  auto config = ParseStreamConfig("kafka:\n  bootstrap_servers: ${FERRY_TEST_KAFKA_BOOTSTRAP}\n", "ferry.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->bootstrap_servers, "kafka-0:9093,kafka-1:9093");
  ::unsetenv("FERRY_TEST_UNSET");
  ExpectError("kafka:\n  bootstrap_servers: ${FERRY_TEST_UNSET}\n",
              "ferry.yaml:2: kafka bootstrap_servers: environment variable 'FERRY_TEST_UNSET' is not set");
}

}  // namespace
}  // namespace ferry::stream

namespace ferry::stream {
namespace {

// kafka.properties reach librdkafka as they are: TLS and SASL settings are accepted (this
// librdkafka has ssl and sasl), a property it does not know is refused by name.
TEST(KafkaConf, PropertiesPassThroughToLibrdkafka) {
  auto conf = MakeKafkaConf("127.0.0.1:9092",
                            {{"security.protocol", "sasl_ssl"}, {"sasl.mechanism", "PLAIN"},
                             {"sasl.username", "u"}, {"sasl.password", "p"}, {"ssl.ca.location", "/dev/null"},
                             {"group.id", "theirs"}},
                            {{"group.id", "ours"}}, {"group.id"});
  ASSERT_TRUE(conf.has_value()) << conf.error().message;
  char value[256];
  std::size_t size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(*conf, "security.protocol", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "sasl_ssl");
  size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(*conf, "group.id", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "ours");  // reserved: at-least-once depends on ferry's own
  rd_kafka_conf_destroy(*conf);

  auto bad = MakeKafkaConf("127.0.0.1:9092", {{"no.such.property", "1"}}, {});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("kafka property 'no.such.property'"), std::string::npos);
}

}  // namespace
}  // namespace ferry::stream
