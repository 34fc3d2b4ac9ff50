#include "stream/stream_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include "core/file.h"
#include "core/yaml_reader.h"
#include "observe/monitor_config.h"
#include "stream/mqtt/client.h"
#include "stream/mqtt/packet.h"

namespace ferry::stream {
namespace {

using core::Result;

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  std::unexpected<core::Error> Fail(const YAML::Node& at, std::string_view message) const {
    return core::InvalidArgument(fmt::format("{}:{}: {}", source_, at.Mark().line + 1, message));
  }

  Result<void> OnlyKeys(const YAML::Node& map, std::string_view where, std::initializer_list<std::string_view> known) const {
    if (!map.IsMap()) return Fail(map, fmt::format("{} must be a map", where));
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) return Fail(entry.first, fmt::format("the keys of {} must be names", where));
      if (std::find(known.begin(), known.end(), entry.first.Scalar()) == known.end()) {
        return Fail(entry.first, fmt::format("unknown key '{}' in {} (known: {})", entry.first.Scalar(), where,
                                             fmt::join(known, ", ")));
      }
    }
    return {};
  }

  Result<std::string> String(const YAML::Node& map, std::string_view key, std::string_view where,
                             std::optional<std::string_view> fallback = std::nullopt) const {
    const YAML::Node value = map[std::string(key)];
    if (!value) {
      if (fallback) return std::string(*fallback);
      return Fail(map, fmt::format("{} needs '{}'", where, key));
    }
    if (!value.IsScalar() || value.Scalar().empty()) return Fail(value, fmt::format("'{}' must be a name", key));
    return value.Scalar();
  }

  Result<bool> Bool(const YAML::Node& map, std::string_view key, bool fallback) const {
    const YAML::Node value = map[std::string(key)];
    if (!value) return fallback;
    if (!value.IsScalar() || (value.Scalar() != "true" && value.Scalar() != "false")) {
      return Fail(value, fmt::format("'{}' must be true or false", key));
    }
    return value.Scalar() == "true";
  }

  Result<int> Int(const YAML::Node& map, std::string_view key, int fallback, int min, int max) const {
    const YAML::Node value = map[std::string(key)];
    if (!value) return fallback;
    try {
      const int n = value.as<int>();
      if (n < min || n > max) return Fail(value, fmt::format("'{}' must be between {} and {}", key, min, max));
      return n;
    } catch (const YAML::Exception&) {
      return Fail(value, fmt::format("'{}' must be an integer", key));
    }
  }

 private:
  std::string source_;
};

// A property's value as ferry.yaml gives it, or from elsewhere so that secrets stay out of it:
// `file:PATH` is the file's content (one trailing newline dropped), and every `${NAME}` is the
// environment variable NAME.
Result<std::string> ResolveSecret(const std::string& value) {
  if (value.starts_with("file:")) {
    auto text = core::ReadWholeFile(value.substr(5));
    if (!text) return core::InvalidArgument(fmt::format("cannot read '{}'", value.substr(5)));
    if (text->ends_with('\n')) text->pop_back();
    if (text->ends_with('\r')) text->pop_back();
    return *text;
  }
  std::string out;
  std::size_t at = 0;
  while (true) {
    const auto open = value.find("${", at);
    if (open == std::string::npos) break;
    const auto close = value.find('}', open);
    if (close == std::string::npos) return core::InvalidArgument("'${' without its '}'");
    const std::string name = value.substr(open + 2, close - open - 2);
    const char* env = name.empty() ? nullptr : std::getenv(name.c_str());
    if (!env) return core::InvalidArgument(fmt::format("environment variable '{}' is not set", name));
    out.append(value, at, open - at).append(env);
    at = close + 1;
  }
  return out.append(value, at);
}

Result<StreamSpec> ParseStream(const Reader& r, const YAML::Node& node) {
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(node, "a stream", {"name", "source", "model", "version", "sink", "errors", "batch",
                                                      "feedback", "required", "explain"}));
  StreamSpec s;
  FERRY_ASSIGN_OR_RETURN(s.name, r.String(node, "name", "a stream"));
  const std::string where = fmt::format("stream '{}'", s.name);
  FERRY_ASSIGN_OR_RETURN(s.model, r.String(node, "model", where));
  FERRY_ASSIGN_OR_RETURN(s.model_version, r.Int(node, "version", 0, 1, 1 << 30));

  const YAML::Node source = node["source"];
  if (!source) return r.Fail(node, where + " needs 'source'");
  if (source.IsMap() && source["mqtt"]) {
    s.source_transport = Transport::kMqtt;
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(source, where + " source", {"mqtt", "encoder"}));
    const YAML::Node m = source["mqtt"];
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(m, where + " source mqtt", {"topic", "qos", "shared_group", "retained", "in_flight"}));
    FERRY_ASSIGN_OR_RETURN(s.source_topic, r.String(m, "topic", where + " source mqtt"));
    if (!mqtt::ValidFilter(s.source_topic) || s.source_topic.starts_with("$share/")) {
      return r.Fail(m["topic"], fmt::format("'{}' is not an MQTT topic filter (levels split by '/', '+' one level, "
                                               "'#' the rest; for a shared subscription use shared_group)",
                                               s.source_topic));
    }
    FERRY_ASSIGN_OR_RETURN(s.mqtt.source_qos, r.Int(m, "qos", 1, 0, 1));
    FERRY_ASSIGN_OR_RETURN(s.mqtt.shared_group, r.String(m, "shared_group", where, ""));
    if (s.mqtt.shared_group.find_first_of("/+#") != std::string::npos) {
      return r.Fail(m["shared_group"], "shared_group must not contain '/', '+' or '#'");
    }
    FERRY_ASSIGN_OR_RETURN(s.mqtt.retained, r.Bool(m, "retained", false));
    FERRY_ASSIGN_OR_RETURN(s.mqtt.in_flight, r.Int(m, "in_flight", 0, 1, 65535));
    s.group = s.mqtt.shared_group;
  } else {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(source, where + " source", {"topic", "encoder", "group", "start_from", "reply"}));
    FERRY_ASSIGN_OR_RETURN(s.source_topic, r.String(source, "topic", where + " source"));
    FERRY_ASSIGN_OR_RETURN(s.group, r.String(source, "group", where, "ferry-" + s.name));
    FERRY_ASSIGN_OR_RETURN(auto start, r.String(source, "start_from", where, "latest"));
    if (start == "latest") {
      s.start_from = StartFrom::kLatest;
    } else if (start == "earliest") {
      s.start_from = StartFrom::kEarliest;
    } else if (start == "committed") {
      s.start_from = StartFrom::kCommitted;
    } else {
      return r.Fail(source["start_from"], "start_from must be earliest, latest or committed");
    }
    if (const YAML::Node reply = source["reply"]) {  // requests: Spring Kafka's header names unless told
      if (!reply.IsMap()) return r.Fail(reply, where + " source reply must be a map ({} for Spring Kafka's headers)");
      FERRY_RETURN_IF_ERROR(r.OnlyKeys(reply, where + " source reply", {"topic_header", "correlation_header",
                                                                        "partition_header"}));
      FERRY_ASSIGN_OR_RETURN(s.reply.topic, r.String(reply, "topic_header", where, "kafka_replyTopic"));
      FERRY_ASSIGN_OR_RETURN(s.reply.correlation, r.String(reply, "correlation_header", where, "kafka_correlationId"));
      FERRY_ASSIGN_OR_RETURN(s.reply.partition, r.String(reply, "partition_header", where, "kafka_replyPartition"));
    }
  }
  FERRY_ASSIGN_OR_RETURN(s.source_encoder, r.String(source, "encoder", where, "json"));
  if (s.source_encoder != "json" && s.source_encoder != "raw") {
    return r.Fail(source["encoder"], "source encoder must be json (a record, or a KServe V2 request) or raw (bytes)");
  }
  // An MQTT topic pattern of the sink or the error topic: {1}, {2}, ... take an MQTT source's levels.
  const auto mqtt_pattern = [&](const YAML::Node& at, std::string_view what, std::string& topic, int& qos) -> Result<void> {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(at, fmt::format("{} {} mqtt", where, what), {"topic", "qos"}));
    FERRY_ASSIGN_OR_RETURN(topic, r.String(at, "topic", fmt::format("{} {} mqtt", where, what)));
    FERRY_ASSIGN_OR_RETURN(qos, r.Int(at, "qos", 1, 0, 1));
    std::size_t wildcards = 0;
    if (s.source_transport == Transport::kMqtt) {
      if (auto levels = mqtt::MatchFilter(s.source_topic, s.source_topic)) wildcards = levels->size();
    }
    const std::vector<std::string_view> levels(wildcards, "x");  // each wildcard's level, as a stand-in
    if (auto expanded = mqtt::ExpandTopic(topic, levels); !expanded) {
      return r.Fail(at["topic"], fmt::format("{} topic {}{}", what, expanded.error().message,
                                             s.source_transport == Transport::kKafka
                                                 ? " (a Kafka source has no wildcard levels)" : ""));
    }
    return {};
  };

  const YAML::Node sink = node["sink"];
  if (!sink) return r.Fail(node, where + " needs 'sink'");
  const bool on_mqtt = sink.IsMap() && bool(sink["mqtt"]);  // the sink's and the error topic's transport
  s.sink_transport = on_mqtt ? Transport::kMqtt : Transport::kKafka;
  if (on_mqtt) {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(sink, where + " sink", {"mqtt", "encoder"}));
    FERRY_RETURN_IF_ERROR(mqtt_pattern(sink["mqtt"], "sink", s.sink_topic, s.mqtt.sink_qos));
  } else {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(sink, where + " sink", {"topic", "encoder", "key", "headers"}));
    FERRY_ASSIGN_OR_RETURN(s.sink_topic, r.String(sink, "topic", where + " sink"));
    FERRY_ASSIGN_OR_RETURN(auto key, r.String(sink, "key", where, "from_source"));
    if (key != "from_source" && key != "none") return r.Fail(sink["key"], "sink key must be from_source or none");
    s.key_from_source = key == "from_source";
    FERRY_ASSIGN_OR_RETURN(auto headers, r.String(sink, "headers", where, "none"));
    if (headers != "copy" && headers != "none") return r.Fail(sink["headers"], "sink headers must be copy or none");
    s.copy_headers = headers == "copy";
  }
  FERRY_ASSIGN_OR_RETURN(s.sink_encoder, r.String(sink, "encoder", where, "json"));
  if (s.sink_encoder != "json" && s.sink_encoder != "raw" && s.sink_encoder != "none") {
    return r.Fail(sink["encoder"], "sink encoder must be json, raw or none (the event itself)");
  }

  // A bad event must go somewhere (nothing accepted is lost): the error topic, or with
  // `tolerance: none` nowhere -- the stream stops at it.
  const YAML::Node errors = node["errors"];
  if (!errors) return r.Fail(node, where + " needs 'errors: {topic: ...}', where bad events go");
  if (errors.IsMap() && (errors["mqtt"] || errors["topic"]) && on_mqtt != bool(errors["mqtt"])) {
    return r.Fail(errors, fmt::format("{}: the error topic must be on {} like the sink ({})", where,
                                      on_mqtt ? "MQTT" : "Kafka",
                                      on_mqtt ? "errors: {mqtt: {topic: ...}}" : "errors: {topic: ...}"));
  }
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(errors, where + " errors", {on_mqtt ? "mqtt" : "topic", "tolerance"}));
  FERRY_ASSIGN_OR_RETURN(auto tolerance, r.String(errors, "tolerance", where, "all"));
  if (tolerance != "all" && tolerance != "none") {
    return r.Fail(errors["tolerance"], "errors tolerance must be all (bad events to the error topic) or none (the "
                                       "stream stops at the first)");
  }
  s.tolerate_errors = tolerance == "all";
  if (on_mqtt && errors["mqtt"]) {
    FERRY_RETURN_IF_ERROR(mqtt_pattern(errors["mqtt"], "errors", s.errors_topic, s.mqtt.errors_qos));
  } else if (on_mqtt && s.tolerate_errors) {
    return r.Fail(errors, where + " errors needs 'mqtt: {topic: ...}', where bad events go");
  } else if (!on_mqtt) {
    FERRY_ASSIGN_OR_RETURN(s.errors_topic, r.String(errors, "topic", where + " errors",
                                                    s.tolerate_errors ? std::nullopt : std::optional<std::string_view>("")));
  }
  FERRY_ASSIGN_OR_RETURN(s.required, r.Bool(node, "required", true));
  if (const YAML::Node batch = node["batch"]) {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(batch, where + " batch", {"max_events", "max_wait_ms"}));
    FERRY_ASSIGN_OR_RETURN(s.max_events, r.Int(batch, "max_events", 256, 1, 100000));
    FERRY_ASSIGN_OR_RETURN(s.max_wait_ms, r.Int(batch, "max_wait_ms", 5, 0, 60000));
  }
  if (const YAML::Node feedback = node["feedback"]; feedback && s.source_transport != Transport::kKafka) {
    return r.Fail(feedback, where + ": feedback topics are read beside a Kafka source; an MQTT source takes none yet");
  } else if (feedback) {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(feedback, where + " feedback", {"topic"}));
    FERRY_ASSIGN_OR_RETURN(s.feedback_topic, r.String(feedback, "topic", where + " feedback"));
  }
  if (const YAML::Node explain = node["explain"]) {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(explain, where + " explain", {"top_k"}));
    FERRY_ASSIGN_OR_RETURN(s.explain_top_k, r.Int(explain, "top_k", 0, 0, 100000));
    if (s.sink_encoder != "json") {
      return r.Fail(explain, where + ": explanations are added to JSON answers (sink encoder json)");
    }
  }
  const bool one_transport = s.source_transport == s.sink_transport;
  if (one_transport && on_mqtt && (mqtt::MatchFilter(s.source_topic, s.sink_topic) || (!s.errors_topic.empty() && mqtt::MatchFilter(s.source_topic, s.errors_topic)))) {
    return r.Fail(node, where + ": the sink and error topics must not match the source filter (ferry would read its "
                                "own answers)");
  }
  if (one_transport && (s.sink_topic == s.source_topic || s.errors_topic == s.source_topic)) {
    return r.Fail(node, where + ": the sink and error topics must differ from the source topic");
  }
  return s;
}

Result<MqttConfig> ParseMqtt(const Reader& r, const YAML::Node& node) {
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(node, "mqtt", {"broker", "client_id", "version", "username", "password",
                                                  "keep_alive_s", "session_expiry_s", "tls"}));
  MqttConfig c;
  const auto secret = [&](std::string_view key, std::string& out, bool& present) -> Result<void> {
    const YAML::Node value = node[std::string(key)];
    if (!value) return {};
    if (!value.IsScalar()) return r.Fail(value, fmt::format("mqtt {} must be a string", key));
    auto resolved = ResolveSecret(value.Scalar());
    if (!resolved) return r.Fail(value, fmt::format("mqtt {}: {}", key, resolved.error().message));
    out = std::move(*resolved);
    present = true;
    return {};
  };
  bool present = false;
  std::string broker;
  FERRY_RETURN_IF_ERROR(secret("broker", broker, present));
  if (!present) return r.Fail(node, "mqtt needs 'broker' (mqtt://host:1883 or mqtts://host:8883)");
  if (auto parsed = mqtt::ParseBrokerUrl(broker); !parsed) return r.Fail(node["broker"], parsed.error().message);
  c.broker = std::move(broker);
  FERRY_RETURN_IF_ERROR(secret("client_id", c.client_id, present));
  FERRY_RETURN_IF_ERROR(secret("username", c.username, c.has_username));
  FERRY_RETURN_IF_ERROR(secret("password", c.password, c.has_password));
  FERRY_ASSIGN_OR_RETURN(c.version, r.String(node, "version", "mqtt", "5"));
  if (c.version == "3") c.version = "3.1.1";
  if (c.version != "5" && c.version != "3.1.1") return r.Fail(node["version"], "mqtt version must be 5 or 3.1.1");
  FERRY_ASSIGN_OR_RETURN(c.keep_alive_s, r.Int(node, "keep_alive_s", 30, 0, 65535));
  FERRY_ASSIGN_OR_RETURN(const int expiry, r.Int(node, "session_expiry_s", 86400, 0, 2147483647));
  c.session_expiry_s = expiry;
  if (const YAML::Node tls = node["tls"]) {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(tls, "mqtt tls", {"ca", "cert", "key", "verify_host"}));
    FERRY_ASSIGN_OR_RETURN(c.tls_ca, r.String(tls, "ca", "mqtt tls", ""));
    FERRY_ASSIGN_OR_RETURN(c.tls_cert, r.String(tls, "cert", "mqtt tls", ""));
    FERRY_ASSIGN_OR_RETURN(c.tls_key, r.String(tls, "key", "mqtt tls", ""));
    FERRY_ASSIGN_OR_RETURN(c.tls_verify_host, r.Bool(tls, "verify_host", true));
  }
  return c;
}

}  // namespace

Result<StreamConfig> ParseStreamConfig(std::string_view yaml, std::string_view source) {
  Reader r(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(fmt::format("{}:{}: not valid YAML: {}", source, e.mark.line + 1, e.msg));
  }
  StreamConfig config;
  if (root.IsNull()) return config;
  FERRY_RETURN_IF_ERROR(r.OnlyKeys(root, "ferry.yaml", {"kafka", "mqtt", "streams", "models_topic", "monitoring"}));
  if (const YAML::Node monitoring = root["monitoring"]) {
    FERRY_ASSIGN_OR_RETURN(config.monitoring, observe::ParseMonitorConfig(monitoring, core::YamlReader(source)));
  }
  if (const YAML::Node mqtt = root["mqtt"]) {
    FERRY_ASSIGN_OR_RETURN(config.mqtt, ParseMqtt(r, mqtt));
  }
  const YAML::Node kafka = root["kafka"];
  if (const YAML::Node models = root["models_topic"]) {
    if (!kafka) return r.Fail(models, "models_topic needs kafka: {bootstrap_servers: ...}");
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(models, "models_topic", {"topic", "start_from"}));
    FERRY_ASSIGN_OR_RETURN(config.models_topic, r.String(models, "topic", "models_topic"));
    FERRY_ASSIGN_OR_RETURN(auto start, r.String(models, "start_from", "models_topic", "last"));
    if (start != "last" && start != "earliest") return r.Fail(models["start_from"], "start_from must be last or earliest");
    config.models_from_last = start == "last";
  }
  if (kafka) {
    FERRY_RETURN_IF_ERROR(r.OnlyKeys(kafka, "kafka", {"bootstrap_servers", "properties"}));
    FERRY_ASSIGN_OR_RETURN(auto servers, r.String(kafka, "bootstrap_servers", "kafka"));
    auto resolved = ResolveSecret(servers);
    if (!resolved) {
      return r.Fail(kafka["bootstrap_servers"], "kafka bootstrap_servers: " + resolved.error().message);
    }
    config.bootstrap_servers = std::move(*resolved);
    if (const YAML::Node props = kafka["properties"]) {
      if (!props.IsMap()) return r.Fail(props, "kafka properties must be a map of librdkafka settings");
      for (const auto& entry : props) {
        if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
          return r.Fail(entry.first, "kafka properties must map names to values");
        }
        auto value = ResolveSecret(entry.second.Scalar());
        if (!value) return r.Fail(entry.second, fmt::format("kafka property '{}': {}", entry.first.Scalar(),
                                                            value.error().message));
        config.properties[entry.first.Scalar()] = std::move(*value);
      }
    }
  }
  if (const YAML::Node streams = root["streams"]) {
    if (!streams.IsSequence()) return r.Fail(streams, "streams must be a list");
    std::set<std::string> names;
    for (const auto& node : streams) {
      FERRY_ASSIGN_OR_RETURN(auto spec, ParseStream(r, node));
      const auto uses = [&](Transport t) { return spec.source_transport == t || spec.sink_transport == t; };
      if (uses(Transport::kKafka) && !kafka) {
        return r.Fail(node, fmt::format("stream '{}' needs kafka: {{bootstrap_servers: ...}}", spec.name));
      }
      if (uses(Transport::kMqtt) && config.mqtt.broker.empty()) {
        return r.Fail(node, fmt::format("stream '{}' needs mqtt: {{broker: ...}}", spec.name));
      }
      if (!names.insert(spec.name).second) return r.Fail(node, fmt::format("two streams are named '{}'", spec.name));
      config.streams.push_back(std::move(spec));
    }
  }
  return config;
}

Result<StreamConfig> LoadStreamConfig(const std::filesystem::path& file) {
  FERRY_ASSIGN_OR_RETURN(const auto text, core::ReadWholeFile(file));
  return ParseStreamConfig(text, file.string());
}

}  // namespace ferry::stream
