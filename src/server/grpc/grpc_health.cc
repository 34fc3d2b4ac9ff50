#include "server/grpc/grpc_health.h"

#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace ferry::grpc_frontend {

HealthPublisher::HealthPublisher(grpc::HealthCheckServiceInterface& service, const runtime::Server& server,
                                 std::chrono::milliseconds period)
    : service_(service), server_(server) {
  Publish();  // before the first call can come
  thread_ = std::jthread([this, period](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any wake;
    std::unique_lock lock(mu);
    while (true) {
      wake.wait_for(lock, stop, period, [] { return false; });  // woken early by Stop() only
      if (stop.stop_requested()) return;
      Publish();
    }
  });
}

HealthPublisher::~HealthPublisher() { Stop(); }

void HealthPublisher::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  service_.Shutdown();  // every service NOT_SERVING from now on
}

void HealthPublisher::Publish() {
  auto set = [this](const std::string& name, bool serving) {
    auto [it, added] = published_.try_emplace(name, serving);
    if (!added && it->second == serving) return;
    it->second = serving;
    service_.SetServingStatus(name, serving);
  };
  const bool ready = server_.IsReady();
  set("", ready);
  set("inference.GRPCInferenceService", ready);
  std::unordered_map<std::string, bool> models;
  for (const auto& status : server_.RepositoryIndex()) {
    bool& serving = models[status.name];
    serving = serving || status.state == runtime::ModelState::kReady;
  }
  for (auto& [name, seen] : published_) {
    if (!name.empty() && name != "inference.GRPCInferenceService" && !models.contains(name) && seen) {
      seen = false;  // gone from the repository
      service_.SetServingStatus(name, false);
    }
  }
  for (const auto& [name, serving] : models) set(name, serving);
}

}  // namespace ferry::grpc_frontend
