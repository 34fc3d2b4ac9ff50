#include "stream/stream_metrics.h"

#include "observe/prometheus.h"

namespace ferry::stream {

void RenderStreamMetrics(const std::vector<std::pair<std::string, std::shared_ptr<const StreamCounters>>>& streams,
                         std::string& out) {
  struct Family {
    const char* name;
    const char* help;
    const std::atomic<std::uint64_t> StreamCounters::*counter;
  };
  static constexpr Family kFamilies[] = {
      {"ferry_stream_events_consumed_total", "Events read from the stream's source topic.", &StreamCounters::consumed},
      {"ferry_stream_events_produced_total", "Outputs produced to the stream's sink topic.", &StreamCounters::produced},
      {"ferry_stream_events_failed_total", "Events sent to the stream's error topic.", &StreamCounters::errors},
      {"ferry_stream_events_skipped_total", "Events a pipeline step or a model's hook skipped (no output).", &StreamCounters::skipped},
      {"ferry_stream_events_duplicated_total",
       "Events read again that already had an answer (after a member of the group died before committing).",
       &StreamCounters::duplicated},
      {"ferry_stream_batches_total", "Batches of events inferred.", &StreamCounters::batches},
      {"ferry_stream_retries_total", "Batches retried (consumption paused) because the model could not take them.",
       &StreamCounters::retries},
      {"ferry_stream_commits_total", "Source offset commits, each after its outputs were acknowledged.",
       &StreamCounters::commits},
      {"ferry_stream_feedback_total", "Messages read from the stream's feedback topic.", &StreamCounters::feedback},
      {"ferry_stream_feedback_malformed_total", "Feedback messages ignored: not feedback JSON, or for no router.",
       &StreamCounters::feedback_malformed},
  };
  observe::PrometheusWriter w(out);
  for (const auto& family : kFamilies) {
    w.Family(family.name, "counter", family.help);
    for (const auto& [name, counters] : streams) {
      w.Sample(family.name, {{"stream", name}}, static_cast<double>(((*counters).*family.counter).load()));
    }
  }
}

}  // namespace ferry::stream
