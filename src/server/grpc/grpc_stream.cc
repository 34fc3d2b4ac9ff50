#include "server/grpc/grpc_stream.h"

#include <deque>
#include <mutex>

#include "server/grpc/grpc_codec.h"

namespace ferry::grpc_frontend {
namespace {


class InferStream final
    : public grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse> {
 public:
  InferStream(runtime::Server& server, const core::RequestLimits& limits, const grpc::CallbackServerContext& context)
      : server_(server), limits_(limits), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed, or the stream broke
      Update([this] { reads_done_ = true; });
      return;
    }
    auto decoded = DecodeInferRequest(request_, limits_);
    Update([this] { ++in_flight_; });
    if (!decoded) {
      const auto version = ParseVersion(request_.model_version());
      Answer(version ? server_.RequestError(request_.model_name(), *version, decoded.error()) : decoded.error(),
             request_.id());
    } else {
      std::string id = decoded->id;
      server_.Infer(std::move(*decoded), context_, [this, id = std::move(id)](core::Result<core::InferenceResponse> result) {
        if (!result) return Answer(result.error(), id);
        inference::ModelStreamInferResponse response;
        EncodeInferResponse(*result, response.mutable_infer_response());
        Deliver(std::move(response));
      });
    }
    StartRead(&request_);  // the request was copied out; the buffer may be reused
  }

  void OnWriteDone(bool ok) override {
    Update([this, ok] {
      writing_ = false;
      if (!ok) broken_ = true;
      pending_.pop_front();
    });
  }

  void OnCancel() override {
    Update([this] {
      broken_ = true;
      reads_done_ = true;
    });
  }

  void OnDone() override { delete this; }

 private:
  void Answer(const core::Error& error, const std::string& id) {
    inference::ModelStreamInferResponse response;
    response.set_error_message(error.message);
    if (!id.empty()) response.mutable_infer_response()->set_id(id);
    Deliver(std::move(response));
  }

  // Queues the answer to one request read; called once per request, from any thread.
  void Deliver(inference::ModelStreamInferResponse&& response) {
    Update([this, &response] {
      --in_flight_;
      if (!broken_) pending_.push_back(std::move(response));
    });
  }

  // Applies `change` under the lock, then starts the next write or finishes the stream. gRPC calls
  // (StartWrite, Finish) are made outside the lock, since their reactions may run at once.
  template <typename Change>
  void Update(Change&& change) {
    inference::ModelStreamInferResponse* write = nullptr;
    bool finish = false;
    {
      std::lock_guard lock(mutex_);
      change();
      if (!writing_ && !broken_ && !pending_.empty()) {
        writing_ = true;
        write = &pending_.front();  // stays in place until OnWriteDone pops it
      } else if (!finished_ && reads_done_ && in_flight_ == 0 && !writing_ && (broken_ || pending_.empty())) {
        finished_ = finish = true;
      }
    }
    if (write) StartWrite(write);
    if (finish) Finish(grpc::Status::OK);
  }

  runtime::Server& server_;
  const core::RequestLimits limits_;
  const MetadataContext context_;  // the stream's metadata, for each request on it
  inference::ModelInferRequest request_;  // read buffer; only gRPC's read path touches it

  std::mutex mutex_;
  // Protected by mutex_.
  std::deque<inference::ModelStreamInferResponse> pending_;
  int in_flight_ = 0;       // requests read whose answer is not yet queued
  bool writing_ = false;
  bool reads_done_ = false;
  bool broken_ = false;     // cancelled or a write failed: answers are dropped
  bool finished_ = false;
};

class RefusedStream final
    : public grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>* RefuseStream(
    const grpc::Status& status) {
  return new RefusedStream(status);
}

grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>* StartInferStream(
    runtime::Server& server, const core::RequestLimits& limits, const grpc::CallbackServerContext& context) {
  return new InferStream(server, limits, context);
}

}  // namespace ferry::grpc_frontend
