// A model repository served in this process with no listener: what `ferry test` and
// `ferry infer --model-repository` call through the same HTTP routes as `ferry serve`
// (http::HandleRequestAndWait), without sockets.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "runtime/server.h"
#include "server/http/http_routes.h"

namespace ferry::cli {

// Loads every model of `repository` and waits up to `ready_timeout` for them; a model that does
// not load answers its requests with its reason (503), as over HTTP.
core::Result<std::unique_ptr<runtime::Server>> OpenRepository(const std::string& repository,
                                                              std::chrono::milliseconds ready_timeout);

}  // namespace ferry::cli
