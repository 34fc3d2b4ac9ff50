// The Prometheus metrics of a server (GET /metrics): per model version, requests, rows,
// executions, latency, queue and compute histograms, batch sizes, queue depth and readiness; and
// the process's memory, CPU and threads. Names are ferry's own, prefixed ferry_ (docs/metrics.md).
// Safe from any thread; reads snapshots.
#pragma once

#include <string>

#include "runtime/server.h"

namespace ferry::runtime {

std::string RenderMetrics(const Server& server);

}  // namespace ferry::runtime
