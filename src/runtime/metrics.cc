#include "runtime/metrics.h"

#include "observe/metric_set.h"
#include "observe/process_stats.h"
#include "observe/prometheus.h"

namespace ferry::runtime {
namespace {

using observe::PrometheusWriter;

struct Counter {
  const char* name;
  const char* help;
  double (*value)(const VersionStatistics&);
};

const Counter kCounters[] = {
    {"ferry_request_success_total", "Inference requests answered successfully.",
     [](const VersionStatistics& v) { return static_cast<double>(v.stats.success.count); }},
    {"ferry_request_failure_total", "Inference requests that failed (validation, full queue, timeout, model error).",
     [](const VersionStatistics& v) { return static_cast<double>(v.stats.fail.count); }},
    {"ferry_inference_rows_total", "Rows inferred (a request of 64 rows adds 64).",
     [](const VersionStatistics& v) { return static_cast<double>(v.stats.inference_count); }},
    {"ferry_execution_total", "Model executions (a dynamic batch of many requests adds 1).",
     [](const VersionStatistics& v) { return static_cast<double>(v.stats.execution_count); }},
};

struct HistogramFamily {
  const char* name;
  const char* help;
  const sched::Histogram& (*get)(const VersionStatistics&);
};

const HistogramFamily kHistograms[] = {
    {"ferry_request_duration_seconds", "Time from queueing to answer of successful requests.",
     [](const VersionStatistics& v) -> const sched::Histogram& { return v.stats.request_duration; }},
    {"ferry_queue_duration_seconds", "Time successful requests waited in the queue.",
     [](const VersionStatistics& v) -> const sched::Histogram& { return v.stats.queue_duration; }},
    {"ferry_compute_duration_seconds", "Time of each model execution (inputs, run, outputs).",
     [](const VersionStatistics& v) -> const sched::Histogram& { return v.stats.compute_duration; }},
    {"ferry_batch_size", "Rows of each model execution.",
     [](const VersionStatistics& v) -> const sched::Histogram& { return v.stats.batch_size; }},
};

}  // namespace

std::string RenderMetrics(const Server& server) {
  std::string out;
  out.reserve(8192);
  PrometheusWriter w(out);
  const auto stats = server.GetStatistics("", 0).value_or(std::vector<VersionStatistics>{});

  for (const Counter& counter : kCounters) {
    w.Family(counter.name, "counter", counter.help);
    for (const auto& v : stats) {
      const std::string version = std::to_string(v.version);
      w.Sample(counter.name, {{"model", v.name}, {"version", version}}, counter.value(v));
    }
  }
  for (const HistogramFamily& family : kHistograms) {
    w.Family(family.name, "histogram", family.help);
    for (const auto& v : stats) {
      const std::string version = std::to_string(v.version);
      const sched::Histogram& h = family.get(v);
      w.Histogram(family.name, {{"model", v.name}, {"version", version}}, h.bounds, h.counts, h.sum, h.count);
    }
  }
  w.Family("ferry_queue_depth", "gauge", "Requests waiting in the model's queue now.");
  for (const auto& v : stats) {
    const std::string version = std::to_string(v.version);
    w.Sample("ferry_queue_depth", {{"model", v.name}, {"version", version}}, static_cast<double>(v.queue_depth));
  }
  w.Family("ferry_model_ready", "gauge", "1 when the model version serves, 0 when it failed to load.");
  for (const auto& status : server.VersionStates()) {  // from memory: a scrape reads no file
    const std::string version = std::to_string(status.version);
    w.Sample("ferry_model_ready", {{"model", status.name}, {"version", version}},
             status.state == ModelState::kReady ? 1 : 0);
  }
  // Routers' routes, shadows, ensembles and bandits (routing/router_metrics.h), and the
  // monitoring streams (observe/monitor.h).
  observe::MetricSet routing;
  for (const auto& servable : server.ServingVersions()) {
    servable->CollectMetrics(routing);
    if (servable->monitor()) servable->monitor()->CollectMetrics(routing);
  }
  routing.Render(w);
  const auto process = observe::ReadProcessStats();
  w.Family("ferry_process_resident_memory_bytes", "gauge", "Resident memory of the ferry process.");
  w.Sample("ferry_process_resident_memory_bytes", {}, static_cast<double>(process.resident_bytes));
  w.Family("ferry_process_cpu_seconds_total", "counter", "CPU time of the ferry process, user and system.");
  w.Sample("ferry_process_cpu_seconds_total", {}, process.cpu_seconds);
  w.Family("ferry_process_threads", "gauge", "Threads of the ferry process.");
  w.Sample("ferry_process_threads", {}, static_cast<double>(process.threads));
  server.RenderMetricsSources(out);
  return out;
}

}  // namespace ferry::runtime
