// The ModelStreamInfer reactor: one bidirectional stream of inference requests. Each request read
// is decoded and handed to the runtime; each answer, success or failure, is written back as a
// ModelStreamInferResponse (a failure carries error_message and the stream goes on). Answers are
// written in the order inferences complete, one write in flight at a time; the request id tells
// the client which is which.
//
// Thread safety: gRPC calls OnReadDone/OnWriteDone/OnCancel on its threads while scheduler threads
// deliver answers; the reactor's state is guarded by one mutex. It deletes itself in OnDone, after
// the last answer has been written (or dropped on cancellation).
#pragma once

#include <grpcpp/grpcpp.h>

#include "grpc_service.grpc.pb.h"
#include "core/limits.h"
#include "runtime/server.h"

namespace ferry::grpc_frontend {

// A stream that ends at once with `status` (such as UNAUTHENTICATED), reading nothing.
grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>* RefuseStream(
    const grpc::Status& status);

grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>* StartInferStream(
    runtime::Server& server, const core::RequestLimits& limits, const grpc::CallbackServerContext& context);

}  // namespace ferry::grpc_frontend
