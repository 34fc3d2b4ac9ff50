#include "stream/stream_metrics.h"

#include <fmt/format.h>

#include "core/json_writer.h"
#include "observe/prometheus.h"

namespace ferry::stream {

std::string_view ClassName(DeadLetterClass c) {
  switch (c) {
    case DeadLetterClass::kDecode: return "decode";
    case DeadLetterClass::kValidation: return "validation";
    case DeadLetterClass::kModel: return "model";
    case DeadLetterClass::kUnknownModel: return "unknown_model";
    case DeadLetterClass::kTooLarge: return "too_large";
    case DeadLetterClass::kRefused: return "refused";
  }
  return "unknown";
}

std::string_view ReasonName(PauseReason r) {
  switch (r) {
    case PauseReason::kModelUnavailable: return "model_unavailable";
    case PauseReason::kQueueFull: return "queue_full";
    case PauseReason::kTimeout: return "timeout";
  }
  return "unknown";
}

void RenderStreamMetrics(const std::vector<StreamView>& streams, std::string& out) {
  struct Family {
    const char* name;
    const char* help;
    const std::atomic<std::uint64_t> StreamCounters::*counter;
  };
  static constexpr Family kFamilies[] = {
      {"ferry_stream_events_consumed_total", "Events read from the stream's source topic.", &StreamCounters::consumed},
      {"ferry_stream_events_produced_total", "Outputs produced to the stream's sink topic.", &StreamCounters::produced},
      {"ferry_stream_events_failed_total", "Events sent to the stream's error topic.", &StreamCounters::errors},
      {"ferry_stream_events_skipped_total", "Events answered with nothing by design: a pipeline step or a model's hook skipped them, or MQTT messages left unanswered (retained, or from a filter no longer configured).", &StreamCounters::skipped},
      {"ferry_stream_events_duplicated_total",
       "Events read again that already had an answer (after a member of the group died before committing).",
       &StreamCounters::duplicated},
      {"ferry_stream_batches_total", "Batches of events inferred.", &StreamCounters::batches},
      {"ferry_stream_retries_total", "Batches retried (consumption paused) because the model could not take them.",
       &StreamCounters::retries},
      {"ferry_stream_commits_total", "Source offset commits, each after its outputs were acknowledged.",
       &StreamCounters::commits},
      {"ferry_stream_truncated_total", "Error-topic copies of events cut to fit the producer's message.max.bytes.",
       &StreamCounters::truncated},
      {"ferry_stream_feedback_total", "Messages read from the stream's feedback topic.", &StreamCounters::feedback},
      {"ferry_stream_feedback_malformed_total", "Feedback messages ignored: not feedback JSON, or for no router.",
       &StreamCounters::feedback_malformed},
  };
  observe::PrometheusWriter w(out);
  for (const auto& family : kFamilies) {
    w.Family(family.name, "counter", family.help);
    for (const auto& s : streams) {
      w.Sample(family.name, {{"stream", s.name}}, static_cast<double>(((*s.counters).*family.counter).load()));
    }
  }
  w.Family("ferry_stream_dead_letters_total", "counter", "Events sent to the error topic, by class of error.");
  for (const auto& s : streams) {
    for (const auto c : kDeadLetterClasses) {
      w.Sample("ferry_stream_dead_letters_total", {{"stream", s.name}, {"class", ClassName(c)}},
               static_cast<double>(s.counters->dead_letters[static_cast<std::size_t>(c)].load()));
    }
  }
  w.Family("ferry_stream_pauses_total", "counter", "Times a stream paused consumption to retry a batch, by reason.");
  for (const auto& s : streams) {
    for (const auto r : kPauseReasons) {
      w.Sample("ferry_stream_pauses_total", {{"stream", s.name}, {"reason", ReasonName(r)}},
               static_cast<double>(s.counters->pauses[static_cast<std::size_t>(r)].load()));
    }
  }
  std::vector<StreamHealth::Snapshot> health;
  for (const auto& s : streams) health.push_back(s.health->Read());
  w.Family("ferry_stream_state", "gauge", "1 for the state each stream is in (docs/streaming.md), 0 for the others.");
  for (std::size_t i = 0; i < streams.size(); ++i) {
    for (const auto state : kStreamStates) {
      w.Sample("ferry_stream_state", {{"stream", streams[i].name}, {"state", StateName(state)}},
               health[i].state == state ? 1.0 : 0.0);
    }
  }
  w.Family("ferry_stream_consumer_lag", "gauge",
           "Events of an assigned source partition not yet committed: its high watermark minus the committed offset.");
  for (std::size_t i = 0; i < streams.size(); ++i) {
    for (const auto& p : health[i].partitions) {
      if (p.Lag() < 0) continue;
      const std::string partition = std::to_string(p.partition);
      w.Sample("ferry_stream_consumer_lag", {{"stream", streams[i].name}, {"partition", partition}},
               static_cast<double>(p.Lag()));
    }
  }
  w.Family("ferry_stream_events_in_flight", "gauge", "Events read and not yet committed (answered or waiting).");
  for (std::size_t i = 0; i < streams.size(); ++i) {
    w.Sample("ferry_stream_events_in_flight", {{"stream", streams[i].name}}, static_cast<double>(health[i].in_flight));
  }
  w.Family("ferry_stream_last_commit_age_seconds", "gauge", "Seconds since the stream last committed offsets.");
  const auto now = StreamHealth::Clock::now();
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (!health[i].last_commit) continue;
    w.Sample("ferry_stream_last_commit_age_seconds", {{"stream", streams[i].name}},
             std::chrono::duration<double>(now - *health[i].last_commit).count());
  }
}

void RenderStreamStatus(const std::vector<StreamView>& streams, std::vector<std::string>& objects) {
  const auto now = StreamHealth::Clock::now();
  for (const auto& s : streams) {
    const auto health = s.health->Read();
    std::string out;
    core::JsonWriter w(out);
    w.BeginObject();
    w.Key("name");
    w.String(s.name);
    w.Key("transport");
    w.String(s.transport);
    w.Key("sink_transport");
    w.String(s.sink_transport);
    w.Key("state");
    w.String(StateName(health.state));
    w.Key("reason");
    w.String(health.reason);
    w.Key("required");
    w.Bool(s.required);
    w.Key("source");
    w.String(s.source_topic);
    w.Key("group");
    w.String(s.group);
    w.Key("model");
    w.String(s.model);
    w.Key("sink");
    w.String(s.sink_topic);
    w.Key("errors");
    w.String(s.errors_topic);
    w.Key("events_in_flight");
    w.Number(health.in_flight);
    w.Key("last_commit_age_s");
    if (health.last_commit) {
      w.Number(std::chrono::duration<double>(now - *health.last_commit).count());
    } else {
      w.Null();
    }
    w.Key("partitions");
    w.BeginArray();
    for (const auto& p : health.partitions) {
      w.BeginObject();
      w.Key("partition");
      w.Number(p.partition);
      w.Key("committed");
      w.Number(p.committed);
      w.Key("end");
      w.Number(p.end);
      w.Key("lag");
      w.Number(p.Lag());
      w.EndObject();
    }
    w.EndArray();
    w.Key("counters");
    w.BeginObject();
    const auto& c = *s.counters;
    for (const auto& [name, value] : {std::pair{"consumed", &c.consumed}, {"produced", &c.produced},
                                      {"failed", &c.errors}, {"skipped", &c.skipped}, {"duplicated", &c.duplicated},
                                      {"retries", &c.retries}, {"commits", &c.commits}}) {
      w.Key(name);
      w.Number(value->load());
    }
    w.EndObject();
    w.EndObject();
    objects.push_back(std::move(out));
  }
}

std::string StreamsNotReady(const std::vector<StreamView>& streams) {
  std::string why;
  for (const auto& s : streams) {
    if (!s.required) continue;
    const auto health = s.health->Read();
    if (health.state != StreamState::kStopped) continue;
    if (!why.empty()) why += "; ";
    why += fmt::format("stream '{}' stopped: {}", s.name, health.reason);
  }
  return why;
}

}  // namespace ferry::stream
