// The KServe V2 REST routes (with Triton's statistics, configuration and repository extensions):
// maps a method and target to ferry::runtime::Server calls and their JSON answers. Knows nothing of sockets (see http_server.h) nor of JSON details (see
// protocol/v2_json.h).
//
// Every error answer is a non-2xx status with {"error": "..."}: 400 for a bad request, 404 for an
// unknown route, model or version, 405 for a known route with the wrong method (with Allow), 503
// when a model or the server is not ready, 500 only for internal faults.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/limits.h"
#include "routing/servable.h"
#include "runtime/server.h"
#include "server/auth/token_auth.h"

namespace ferry::http {

enum class Method { kGet, kPost, kPut, kOther };

// "GET", "POST", "PUT" (as written: upper case); kOther for any other.
Method MethodNamed(std::string_view name);

struct HttpRequest {
  Method method = Method::kOther;
  std::string_view target;
  std::string_view body;
  // The Inference-Header-Content-Length header (binary tensor extension), when present.
  std::optional<std::string_view> inference_header_length;
  const core::RequestLimits* limits = nullptr;  // null: the defaults
  std::string_view authorization;               // the Authorization header
  const auth::TokenAuth* auth = nullptr;        // null: no authentication
  const routing::CallContext* context = nullptr;  // the request's headers, for routers; null: none
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string allow;  // the Allow header of a 405 answer
  // Set when `body` is JSON followed by binary output data: the JSON's length.
  std::optional<std::size_t> inference_header_length;
  std::string_view content_type = "application/json";
  bool ask_for_token = false;  // a 401: answer with WWW-Authenticate: Bearer
  // More headers: which servable answered (ferry-model, ferry-route, ...: routing/route_info.h).
  std::vector<std::pair<std::string_view, std::string>> headers;
};

// Which routes a listener serves: everything, the dashboard page at / and /ui/ included (the HTTP
// port); the API without the page (--no-ui); or only GET /metrics and the probes (--metrics-port).
enum class RouteSet { kAll, kApi, kMetricsOnly };

using Reply = std::move_only_function<void(HttpReply)>;

// Handles one request. `reply` is called exactly once: at once on the calling thread, or later on a
// scheduler thread for inference. The request's views must stay valid only until HandleRequest
// returns.
void HandleRequest(runtime::Server& server, const HttpRequest& request, Reply reply,
                   RouteSet routes = RouteSet::kAll);

// One request handled in this process (no socket: `ferry test`, the embedding API), waiting for
// its answer.
HttpReply HandleRequestAndWait(runtime::Server& server, Method method, std::string_view target, std::string_view body);

// The scope a route needs (kNone for health probes and unknown routes).
auth::Scope RequiredScope(std::string_view path, Method method);

// Percent-decodes one path segment ("a%20b" -> "a b"); nullopt on a malformed escape or NUL.
std::optional<std::string> DecodePathSegment(std::string_view segment);

}  // namespace ferry::http
