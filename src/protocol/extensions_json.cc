// JSON of the statistics and model configuration extensions.
#include "core/json_writer.h"
#include "protocol/v2_json.h"

namespace ferry::protocol {

using core::JsonWriter;
namespace {

void WriteDuration(std::string_view key, const sched::DurationStat& d, JsonWriter& w) {
  w.Key(key);
  w.BeginObject();
  w.Key("count");
  w.Number(d.count);
  w.Key("ns");
  w.Number(d.ns);
  w.EndObject();
}

void WriteConfigTensors(std::string_view key, const std::vector<core::TensorSpec>& specs, bool batched,
                        JsonWriter& w) {
  w.Key(key);
  w.BeginArray();
  for (const auto& spec : specs) {
    w.BeginObject();
    w.Key("name");
    w.String(spec.name);
    w.Key("data_type");
    w.String(ConfigDataTypeName(spec.type));
    w.Key("dims");
    w.BeginArray();
    const auto dims = spec.shape.dims();
    for (std::size_t i = batched ? 1 : 0; i < dims.size(); ++i) w.Number(dims[i]);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

void WriteOptional(std::string_view key, const std::optional<double>& value, JsonWriter& w) {
  w.Key(key);
  if (value) {
    w.Number(*value);
  } else {
    w.Null();
  }
}

}  // namespace

std::string EncodeFigures(const runtime::FiguresReport& report, bool control) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("control");
  w.Bool(control);
  w.Key("interval_s");
  w.Number(report.interval_s);
  w.Key("time_ms");
  w.Number(report.time_ms);
  w.Key("models");
  w.BeginArray();
  for (const auto& m : report.models) {
    w.BeginObject();
    w.Key("name");
    w.String(m.name);
    w.Key("version");
    w.Number(m.version);
    w.Key("requests_per_s");
    w.Number(m.requests_per_s);
    w.Key("errors_per_s");
    w.Number(m.errors_per_s);
    w.Key("rows_per_s");
    w.Number(m.rows_per_s);
    WriteOptional("p50_ms", m.p50_ms, w);
    WriteOptional("p99_ms", m.p99_ms, w);
    WriteOptional("batch_size", m.batch_size, w);
    w.Key("queue_depth");
    w.Number(m.queue_depth);
    w.Key("requests_total");
    w.Number(m.requests_total);
    w.Key("errors_total");
    w.Number(m.errors_total);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

std::string ConfigDataTypeName(core::DataType type) {
  if (type == core::DataType::kBytes) return "TYPE_STRING";
  return "TYPE_" + std::string(core::DataTypeName(type));
}

std::string EncodeStatistics(const std::vector<runtime::VersionStatistics>& stats) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("model_stats");
  w.BeginArray();
  for (const auto& v : stats) {
    const auto& s = v.stats;
    w.BeginObject();
    w.Key("name");
    w.String(v.name);
    w.Key("version");
    w.String(std::to_string(v.version));
    w.Key("last_inference");
    w.Number(s.last_inference_ms);
    w.Key("inference_count");
    w.Number(s.inference_count);
    w.Key("execution_count");
    w.Number(s.execution_count);
    w.Key("inference_stats");
    w.BeginObject();
    WriteDuration("success", s.success, w);
    WriteDuration("fail", s.fail, w);
    WriteDuration("queue", s.queue, w);
    WriteDuration("compute_input", s.compute_input, w);
    WriteDuration("compute_infer", s.compute_infer, w);
    WriteDuration("compute_output", s.compute_output, w);
    WriteDuration("cache_hit", {}, w);
    WriteDuration("cache_miss", {}, w);
    w.EndObject();
    w.Key("batch_stats");
    w.BeginArray();
    for (const auto& b : s.batch_stats) {
      w.BeginObject();
      w.Key("batch_size");
      w.Number(b.batch_size);
      WriteDuration("compute_input", b.compute_input, w);
      WriteDuration("compute_infer", b.compute_infer, w);
      WriteDuration("compute_output", b.compute_output, w);
      w.EndObject();
    }
    w.EndArray();
    // ferry's own: explanation requests, a kind of their own (docs/explain.md).
    w.Key("explain_stats");
    w.BeginObject();
    WriteDuration("success", s.explain_success, w);
    WriteDuration("fail", s.explain_fail, w);
    w.Key("rows");
    w.Number(s.explain_rows);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

std::string EncodeModelConfig(const runtime::ModelConfiguration& c) {
  const auto& config = c.config;
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("name");
  w.String(config.name);
  w.Key("platform");
  w.String(c.platform);
  w.Key("backend");
  w.String(c.backend);
  w.Key("version_policy");
  w.BeginObject();
  switch (config.version_policy.kind) {
    case model::VersionPolicy::Kind::kLatest:
      w.Key("latest");
      w.BeginObject();
      w.Key("num_versions");
      w.Number(config.version_policy.latest);
      w.EndObject();
      break;
    case model::VersionPolicy::Kind::kAll:
      w.Key("all");
      w.BeginObject();
      w.EndObject();
      break;
    case model::VersionPolicy::Kind::kSpecific:
      w.Key("specific");
      w.BeginObject();
      w.Key("versions");
      w.BeginArray();
      for (auto v : config.version_policy.versions) w.Number(v);
      w.EndArray();
      w.EndObject();
      break;
  }
  w.EndObject();
  w.Key("max_batch_size");
  w.Number(config.max_batch_size);
  WriteConfigTensors("input", c.signature.inputs, config.max_batch_size > 0, w);
  WriteConfigTensors("output", c.signature.outputs, config.max_batch_size > 0, w);
  if (config.dynamic_batching.enabled) {
    const auto& batching = config.dynamic_batching;
    w.Key("dynamic_batching");
    w.BeginObject();
    w.Key("preferred_batch_size");
    w.BeginArray();
    for (auto size : batching.preferred_batch_sizes) w.Number(size);
    w.EndArray();
    w.Key("max_queue_delay_microseconds");
    w.Number(batching.max_queue_delay_us);
    w.Key("default_queue_policy");
    w.BeginObject();
    w.Key("max_queue_size");
    w.Number(batching.max_queue_size);
    w.Key("default_timeout_microseconds");
    w.Number(batching.default_timeout_us);
    w.Key("allow_timeout_override");
    w.Bool(true);  // a request's "timeout" parameter
    w.EndObject();
    w.EndObject();
  }
  w.Key("instance_group");
  w.BeginArray();
  w.BeginObject();
  w.Key("name");
  w.String(config.name);
  w.Key("kind");
  w.String("KIND_CPU");
  w.Key("count");
  w.Number(config.instances);
  w.EndObject();
  w.EndArray();
  w.Key("parameters");
  w.BeginObject();
  for (const auto& [key, value] : config.parameters) {
    w.Key(key);
    w.BeginObject();
    w.Key("string_value");
    w.String(value);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return out;
}

}  // namespace ferry::protocol
