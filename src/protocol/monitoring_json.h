// The monitoring routes' JSON (docs/monitoring.md): GET /v2/monitoring's report and PUT
// /v2/models/{m}/monitoring's body. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/limits.h"
#include "runtime/server.h"

namespace ferry::protocol {

// {"monitoring": [{"model", "version", "sink", "format", "rate", "every", "queued", "sent",
// "sampled_out", "dropped_full", "dropped_rate", "send_error", "truncated", "last_error"}]}
std::string EncodeMonitoring(const std::vector<runtime::MonitoringStatus>& report);

// {"rate": 0.2}: the new sampling rate, a number in [0, 1].
core::Result<double> DecodeMonitoringRate(std::string_view json, const core::RequestLimits& limits = {});

}  // namespace ferry::protocol
