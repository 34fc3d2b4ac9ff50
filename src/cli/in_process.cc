#include "cli/in_process.h"

#include <future>

#include "observe/logging.h"
#include "protocol/v2_json.h"

namespace ferry::cli {

core::Result<std::unique_ptr<runtime::Server>> OpenRepository(const std::string& repository,
                                                              std::chrono::milliseconds ready_timeout) {
  // Standard output is the command's; ferry's log goes to standard error, warnings only (a model
  // that fails to load says why).
  FERRY_RETURN_IF_ERROR(observe::InitLogging("warn"));
  FERRY_ASSIGN_OR_RETURN(auto server,
                         runtime::Server::Create({.model_repository = repository,
                                                  .request_decoder = [](std::string_view json) {
                                                    return protocol::DecodeInferRequest(json);
                                                  }}));
  server->WaitUntilReady(ready_timeout);
  return server;
}

http::HttpReply Call(runtime::Server& server, http::Method method, std::string_view target, std::string_view body) {
  std::promise<http::HttpReply> answered;
  auto reply = answered.get_future();
  http::HandleRequest(server, {.method = method, .target = target, .body = body},
                      [&answered](http::HttpReply r) { answered.set_value(std::move(r)); });
  return reply.get();
}

}  // namespace ferry::cli
