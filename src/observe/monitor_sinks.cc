#include "observe/monitor_sinks.h"

#include "observe/monitor_file_sink.h"

namespace ferry::observe {

core::Result<std::shared_ptr<MonitorSink>> MonitorSinks::For(const MonitorConfig& config) {
  std::lock_guard lock(mutex_);
  const std::string name = config.SinkName();
  if (auto it = sinks_.find(name); it != sinks_.end()) return it->second;
  std::shared_ptr<MonitorSink> sink;
  if (config.sink == MonitorConfig::Sink::kFile) {
    FERRY_ASSIGN_OR_RETURN(sink, MonitorFileSink::Create(config.file, config.file_max_bytes, config.file_keep));
  } else if (config.sink == MonitorConfig::Sink::kKafka) {
    if (!kafka_) {
      return core::InvalidArgument(
          "monitoring.sink.kafka needs a Kafka connection: give ferry.yaml a kafka section (ferry serve --config)");
    }
    FERRY_ASSIGN_OR_RETURN(sink, kafka_(config));
  } else {
    return core::InvalidArgument("monitoring has no sink");
  }
  sinks_.emplace(name, sink);
  return sink;
}

}  // namespace ferry::observe
