#include "protocol/monitoring_json.h"

#include <simdjson.h>

#include <cmath>

#include "core/json_writer.h"
#include "protocol/request_json.h"

namespace ferry::protocol {

std::string EncodeMonitoring(const std::vector<runtime::MonitoringStatus>& report) {
  std::string out;
  core::JsonWriter w(out);
  w.BeginObject();
  w.Key("monitoring");
  w.BeginArray();
  for (const auto& s : report) {
    w.BeginObject();
    w.Key("model");
    w.String(s.model);
    w.Key("version");
    w.Number(s.version);
    w.Key("sink");
    w.String(s.sink);
    w.Key("format");
    w.String(s.format);
    w.Key("rate");
    w.Number(s.rate);
    w.Key("every");
    w.Number(s.every);
    const auto& c = s.counters;
    for (const auto& [key, value] : {std::pair{"queued", static_cast<std::uint64_t>(c.queued)},
                                     std::pair{"sent", c.sent}, std::pair{"sampled_out", c.sampled_out},
                                     std::pair{"dropped_full", c.dropped_full}, std::pair{"dropped_rate", c.dropped_rate},
                                     std::pair{"send_error", c.send_error}, std::pair{"truncated", c.truncated}}) {
      w.Key(key);
      w.Number(value);
    }
    w.Key("last_error");
    w.String(c.last_error);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

core::Result<double> DecodeMonitoringRate(std::string_view json, const core::RequestLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(const simdjson::dom::element root, ParseRequestJson(json, limits));
  double rate = 0;
  if (root["rate"].get_double().get(rate) || !std::isfinite(rate)) {
    return core::InvalidArgument("request body must be {\"rate\": <a number between 0 and 1>}");
  }
  if (rate < 0 || rate > 1) return core::InvalidArgument(fmt::format("'rate' must be between 0 and 1, got {}", rate));
  return rate;
}

}  // namespace ferry::protocol
