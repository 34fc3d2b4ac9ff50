// HealthPublisher: the standard gRPC health service (grpc.health.v1.Health, Check and Watch) kept
// in step with ferry's readiness, for Kubernetes gRPC probes and grpc_health_probe.
//
// gRPC's own implementation of the service answers the calls; this class sets its statuses: the
// service "" (and "inference.GRPCInferenceService") is SERVING while the server is ready (false
// while it starts or drains), and each model's name is SERVING while that model (some version of
// it) is ready, NOT_SERVING otherwise. A name ferry has never seen is NOT_FOUND to Check and
// SERVICE_UNKNOWN to Watch. The statuses are refreshed every `period` on one thread of its own
// (so they follow a change within that time);
// Stop() (or the destructor) ends it, and the service then answers NOT_SERVING for everything.
// Health calls need no token (probes carry none).
#pragma once

#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <string>
#include <thread>
#include <unordered_map>

#include "runtime/server.h"

namespace ferry::grpc_frontend {

class HealthPublisher {
 public:
  // `service` and `server` must outlive this object.
  HealthPublisher(grpc::HealthCheckServiceInterface& service, const runtime::Server& server,
                  std::chrono::milliseconds period = std::chrono::milliseconds(100));
  ~HealthPublisher();

  void Stop();

 private:
  void Publish();

  grpc::HealthCheckServiceInterface& service_;
  const runtime::Server& server_;
  std::unordered_map<std::string, bool> published_;  // by the publishing thread only
  std::jthread thread_;
};

}  // namespace ferry::grpc_frontend
