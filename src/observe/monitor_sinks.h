// MonitorSinks: the sinks monitoring records go to, one per place (a file, a Kafka topic), shared
// by every model version that names it -- so that a reload's new version writes on where the old
// one stopped, and two models naming one file do not open it twice. File sinks are made here;
// Kafka sinks by the factory the composition root gives (it holds ferry.yaml's connection).
// Sinks live as long as this registry. Thread safety: For may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"
#include "observe/monitor.h"

namespace ferry::observe {

class MonitorSinks {
 public:
  using KafkaFactory = std::function<core::Result<std::shared_ptr<MonitorSink>>(const MonitorConfig& config)>;
  // Without a factory, Kafka sinks are refused with a reason naming ferry.yaml's kafka section.
  explicit MonitorSinks(KafkaFactory kafka = {}) : kafka_(std::move(kafka)) {}

  // The sink `config` names (config.active() must hold), made the first time it is asked for.
  core::Result<std::shared_ptr<MonitorSink>> For(const MonitorConfig& config);

 private:
  const KafkaFactory kafka_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<MonitorSink>> sinks_;  // by MonitorConfig::SinkName; guarded by mutex_
};

}  // namespace ferry::observe
