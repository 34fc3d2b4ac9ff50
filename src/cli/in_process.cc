#include "cli/in_process.h"

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

}  // namespace ferry::cli
