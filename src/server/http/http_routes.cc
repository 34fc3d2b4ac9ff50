#include "server/http/http_routes.h"

#include <charconv>
#include <future>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>
#include <vector>

#include "observe/prometheus.h"
#include "protocol/explain_json.h"
#include "protocol/monitoring_json.h"
#include "protocol/predict_json.h"
#include "protocol/routing_json.h"
#include "protocol/v2_json.h"
#include "routing/route_info.h"
#include "runtime/live_figures.h"
#include "runtime/metrics.h"
#include "ui/dashboard.h"

namespace ferry::http {
namespace {

HttpReply ErrorReply(int status, std::string_view message) { return {status, protocol::EncodeError(message), "", {}}; }
HttpReply ErrorReply(const core::Error& error) { return ErrorReply(core::HttpStatus(error.code), error.message); }

HttpReply MethodNotAllowed(std::string_view allow, std::string_view path) {
  HttpReply reply = ErrorReply(405, fmt::format("{} accepts only {}", path, allow));
  reply.allow = std::string(allow);
  return reply;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.ends_with('/') && path.size() > 1) path.remove_suffix(1);
  std::size_t start = 1;  // skip the leading '/'
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::optional<std::int64_t> ParseVersion(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1) return std::nullopt;
  return v;
}

// Splits a body into its JSON and binary parts by the Inference-Header-Content-Length header.
core::Result<std::pair<std::string_view, std::span<const std::byte>>> SplitBody(const HttpRequest& request) {
  std::string_view json = request.body;
  std::span<const std::byte> binary;
  if (request.inference_header_length) {
    const std::string_view text = *request.inference_header_length;
    std::size_t length = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      return core::InvalidArgument(fmt::format("Inference-Header-Content-Length '{}' is not a byte count", text));
    }
    if (length > request.body.size()) {
      return core::InvalidArgument(fmt::format("Inference-Header-Content-Length {} exceeds the body size {}", length,
                                               request.body.size()));
    }
    json = request.body.substr(0, length);
    binary = std::as_bytes(std::span(request.body.data() + length, request.body.size() - length));
  }
  return std::pair{json, binary};
}

const routing::CallContext& ContextOf(const HttpRequest& http) {
  return http.context ? *http.context : routing::CallContext::None();
}

void AddRouteHeaders(const routing::RouteInfo& route, HttpReply& reply) {
  route.ForEachField([&](std::string_view key, std::string_view value) { reply.headers.emplace_back(key, value); });
}

// The request's limits (--max-request-bytes, --max-json-depth, ...), or the defaults.
const core::RequestLimits& LimitsOf(const HttpRequest& http) {
  static const core::RequestLimits kDefaults;
  return http.limits ? *http.limits : kDefaults;
}

// A V2 request body (JSON, or JSON and binary tensors) for `model` at `version`; a body that cannot
// be decoded answers as the server says (an unknown model before a bad body, as Triton does).
core::Result<core::InferenceRequest> DecodeV2Request(runtime::Server& server, std::string model, std::int64_t version,
                                                     const HttpRequest& http) {
  auto parts = SplitBody(http);
  if (!parts) return std::unexpected(server.RequestError(model, version, parts.error()));
  auto request = protocol::DecodeInferRequest(parts->first, parts->second, LimitsOf(http));
  if (!request) return std::unexpected(server.RequestError(model, version, request.error()));
  request->model_name = std::move(model);
  request->model_version = version;
  return request;
}

void Infer(runtime::Server& server, std::string model, std::int64_t version, const HttpRequest& http, Reply reply) {
  auto request = DecodeV2Request(server, std::move(model), version, http);
  if (!request) return reply(ErrorReply(request.error()));
  protocol::OutputFormat format(*request);
  server.Infer(std::move(*request), ContextOf(http),
               [reply = std::move(reply), format = std::move(format)](core::Result<core::InferenceResponse> result) mutable {
                 if (!result) return reply(ErrorReply(result.error()));
                 HttpReply ok;
                 ok.body.reserve(256);
                 AddRouteHeaders(routing::RouteOf(*result), ok);
                 ok.inference_header_length = protocol::EncodeInferResponse(*result, format, ok.body);
                 reply(std::move(ok));
               });
}

// POST .../explain for a model without its own explain hook: a V2 request in, its rows' feature
// contributions out (protocol/explain_json.h).
// A model that takes records (a pipeline) is sent the /predict body, with `parameters` beside
// `instances`, and answers by record field.
void Explain(runtime::Server& server, std::string model, std::int64_t version, const HttpRequest& http, Reply reply) {
  std::optional<protocol::PredictRequest> records;
  core::Result<core::InferenceRequest> request = core::InferenceRequest{};
  if (server.TakesRecords(model, version)) {
    auto decoded = protocol::DecodePredictRequest(http.body, LimitsOf(http));
    if (!decoded) return reply(ErrorReply(decoded.error()));
    records = std::move(*decoded);
  } else {
    request = DecodeV2Request(server, model, version, http);
    if (!request) return reply(ErrorReply(request.error()));
  }
  auto format = protocol::ExplainFormatOf(records ? records->parameters : request->parameters);
  if (!format) return reply(ErrorReply(format.error()));
  auto answer = [reply = std::move(reply), format = *format](core::Result<core::Explanation> result) mutable {
    if (!result) return reply(ErrorReply(result.error()));
    reply({200, protocol::EncodeExplanation(*result, format), "", {}});
  };
  if (records) return server.ExplainRecords(model, version, std::move(records->records), std::move(answer));
  server.Explain(std::move(*request), std::move(answer));
}

void Predict(runtime::Server& server, std::string_view model, std::int64_t version, const HttpRequest& http,
             Reply reply) {
  auto request = protocol::DecodePredictRequest(http.body, LimitsOf(http));
  if (!request) return reply(ErrorReply(server.RequestError(model, version, request.error())));
  const bool instances = request->instances;
  server.Predict(model, version, std::move(request->records), ContextOf(http),
                 [reply = std::move(reply), instances](core::Result<routing::Predictions> result) mutable {
                   if (!result) return reply(ErrorReply(result.error()));
                   HttpReply answer;
                   // One call answered by one servable: its route in the headers (a call's
                   // records are decided together).
                   if (result->size() > 0) AddRouteHeaders(result->route(0), answer);
                   answer.status = protocol::EncodePredictResponse(*result, instances, answer.body);
                   reply(std::move(answer));
                 });
}

// GET /v2/models/{r}/routing: the routes and their state; PUT: new weights.
void RoutingRoute(runtime::Server& server, const std::string& model, const HttpRequest& request, std::string_view path,
                  Reply& reply) {
  if (request.method == Method::kGet) {
    auto state = server.GetRouting(model);
    if (!state) return reply(ErrorReply(state.error()));
    return reply({200, protocol::EncodeRouting(model, *state), "", {}});
  }
  if (request.method != Method::kPut) return reply(MethodNotAllowed("GET, PUT", path));
  auto weights = protocol::DecodeWeights(request.body, LimitsOf(request));
  if (!weights) return reply(ErrorReply(weights.error()));
  if (auto set = server.SetWeights(model, *weights); !set) return reply(ErrorReply(set.error()));
  auto state = server.GetRouting(model);
  if (!state) return reply(ErrorReply(state.error()));
  reply({200, protocol::EncodeRouting(model, *state), "", {}});
}

// POST /v2/models/{r}/feedback: rewards for a bandit's decisions.
void FeedbackRoute(runtime::Server& server, const std::string& model, const HttpRequest& request,
                   std::string_view path, Reply& reply) {
  if (request.method != Method::kPost) return reply(MethodNotAllowed("POST", path));
  auto feedback = protocol::DecodeFeedback(request.body, LimitsOf(request));
  if (!feedback) return reply(ErrorReply(feedback.error()));
  auto results = server.ApplyFeedback(model, feedback->feedback);
  if (!results) return reply(ErrorReply(results.error()));
  int status = 200;
  if (!feedback->list && results->front().outcome == routing::FeedbackResult::Outcome::kInvalid) status = 400;
  reply({status, protocol::EncodeFeedbackResults(*results, feedback->list), "", {}});
}

// /v2/models/{model}[/versions/{v}][/ready|/infer|/predict|/stats|/config|/{operation}]
void ModelRoute(runtime::Server& server, const HttpRequest& request, std::string_view path,
                const std::vector<std::string_view>& parts, Reply& reply) {
  const Method method = request.method;
  auto model = DecodePathSegment(parts[2]);
  if (!model || model->empty()) return reply(ErrorReply(400, fmt::format("'{}' is not a valid model name", parts[2])));
  std::size_t next = 3;
  std::int64_t version = 0;
  if (parts.size() > next && parts[next] == "versions") {
    if (parts.size() == next + 1) return reply(ErrorReply(404, fmt::format("no route {}", path)));
    auto v = ParseVersion(parts[next + 1]);
    if (!v) {
      return reply(ErrorReply(400, fmt::format("model version '{}' is not a positive integer", parts[next + 1])));
    }
    version = *v;
    next += 2;
  }
  const std::string_view action = parts.size() > next ? parts[next] : std::string_view();
  if (parts.size() > next + 1) return reply(ErrorReply(404, fmt::format("no route {}", path)));

  if (action.empty()) {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    auto metadata = server.GetModelMetadata(*model, version);
    if (!metadata) return reply(ErrorReply(metadata.error()));
    return reply({200, protocol::EncodeModelMetadata(*metadata), "", {}});
  }
  if (action == "ready") {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    auto ready = server.IsModelReady(*model, version);
    if (!ready) return reply(ErrorReply(ready.error()));
    if (!*ready) {
      return reply(ErrorReply(503, version ? fmt::format("model '{}' version {} is not ready", *model, version)
                                           : fmt::format("model '{}' is not ready", *model)));
    }
    return reply({200, R"({"ready":true})", "", {}});
  }
  if (action == "stats") {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    auto stats = server.GetStatistics(*model, version);
    if (!stats) return reply(ErrorReply(stats.error()));
    return reply({200, protocol::EncodeStatistics(*stats), "", {}});
  }
  if (action == "config") {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    auto config = server.GetModelConfig(*model, version);
    if (!config) return reply(ErrorReply(config.error()));
    return reply({200, protocol::EncodeModelConfig(*config), "", {}});
  }
  if (action == "infer") {
    if (method != Method::kPost) return reply(MethodNotAllowed("POST", path));
    return Infer(server, std::move(*model), version, request, std::move(reply));
  }
  if (action == "predict") {
    if (method != Method::kPost) return reply(MethodNotAllowed("POST", path));
    return Predict(server, *model, version, request, std::move(reply));
  }
  if (action == "routing" && version == 0) return RoutingRoute(server, *model, request, path, reply);
  if (action == "monitoring" && version == 0) {  // PUT {"rate": r}: the sampling rate of its versions
    if (method != Method::kPut) return reply(MethodNotAllowed("PUT", path));
    auto rate = protocol::DecodeMonitoringRate(request.body, LimitsOf(request));
    if (!rate) return reply(ErrorReply(rate.error()));
    if (auto set = server.SetMonitoringRate(*model, *rate); !set) return reply(ErrorReply(set.error()));
    return reply({200, protocol::EncodeMonitoring(server.MonitoringReport(*model)), "", {}});
  }
  if (action == "feedback" && version == 0) return FeedbackRoute(server, *model, request, path, reply);
  if (action == "explain" && !server.HasOwnExplain(*model, version)) {
    if (method != Method::kPost) return reply(MethodNotAllowed("POST", path));
    return Explain(server, std::move(*model), version, request, std::move(reply));
  }
  // Any other action: an operation of the model (a Python model's explain and op_<name>).
  if (method != Method::kPost) return reply(ErrorReply(404, fmt::format("no route {}", path)));
  server.CallOperation(*model, version, std::string(action), std::string(request.body),
                       [reply = std::move(reply)](core::Result<std::string> result) mutable {
                         if (!result) return reply(ErrorReply(result.error()));
                         reply({200, std::move(*result), "", {}});
                       });
}

// POST /v2/repository/index, POST /v2/repository/models/{model}/load|unload
void RepositoryRoute(runtime::Server& server, const HttpRequest& request, std::string_view path,
                     const std::vector<std::string_view>& parts, Reply reply) {
  if (parts.size() == 3 && parts[2] == "index") {
    if (request.method != Method::kPost) return reply(MethodNotAllowed("POST", path));
    auto ready_only = protocol::DecodeIndexRequest(request.body);
    if (!ready_only) return reply(ErrorReply(ready_only.error()));
    return reply({200, protocol::EncodeRepositoryIndex(server.RepositoryIndex(), *ready_only), "", {}});
  }
  if (parts.size() != 5 || parts[2] != "models" || (parts[4] != "load" && parts[4] != "unload")) {
    return reply(ErrorReply(404, fmt::format("no route {}", path)));
  }
  if (request.method != Method::kPost) return reply(MethodNotAllowed("POST", path));
  auto model = DecodePathSegment(parts[3]);
  if (!model || model->empty()) return reply(ErrorReply(400, fmt::format("'{}' is not a valid model name", parts[3])));
  auto answer = [reply = std::move(reply)](core::Result<void> result) mutable {
    reply(result ? HttpReply{200, "{}", "", {}} : ErrorReply(result.error()));
  };
  if (parts[4] == "unload") return server.UnloadModel(std::move(*model), std::move(answer));
  auto config = protocol::DecodeLoadRequest(request.body);
  if (!config) return answer(std::unexpected(config.error()));
  server.LoadModel(std::move(*model), std::move(*config), std::move(answer));
}

}  // namespace

std::optional<std::string> DecodePathSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c == '%') {
      unsigned value = 0;
      if (i + 2 >= segment.size()) return std::nullopt;
      auto [end, ec] = std::from_chars(segment.data() + i + 1, segment.data() + i + 3, value, 16);
      if (ec != std::errc() || end != segment.data() + i + 3) return std::nullopt;
      c = static_cast<char>(value);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

// The Triton extension a path belongs to, when ferry does not offer it.
std::optional<std::string_view> UnsupportedExtension(const std::vector<std::string_view>& parts) {
  if (parts.size() < 2) return std::nullopt;
  if (parts[1] == "systemsharedmemory") return "system shared memory";
  if (parts[1] == "cudasharedmemory") return "CUDA shared memory";
  if (parts[1] == "logging") return "logging";
  if (parts[1] == "trace") return "trace";
  if (parts[1] == "models" && parts.size() >= 5 && parts[parts.size() - 2] == "trace") return "trace";
  return std::nullopt;
}

auth::Scope RequiredScope(std::string_view path, Method method) {
  const auto parts = SplitPath(path);
  if (path == "/metrics") return auth::Scope::kRead;
  if (parts.empty() || parts[0] != "v2") return auth::Scope::kNone;
  if (parts.size() == 1) return auth::Scope::kRead;
  if (parts[1] == "health") return auth::Scope::kNone;
  if (parts[1] == "streams" || parts[1] == "figures" || parts[1] == "monitoring") return auth::Scope::kRead;
  if (parts[1] == "repository") {
    return parts.size() == 3 && parts[2] == "index" ? auth::Scope::kRead : auth::Scope::kAdmin;
  }
  if (parts[1] == "models") {
    // Metadata, ready, stats and config read; infer, predict and a model's operations infer.
    std::size_t action = 3;
    if (parts.size() > 4 && parts[3] == "versions") action = 5;
    if (parts.size() <= action) return auth::Scope::kRead;
    const std::string_view a = parts[action];
    if (a == "routing") return method == Method::kGet ? auth::Scope::kRead : auth::Scope::kAdmin;
    if (a == "monitoring") return auth::Scope::kAdmin;
    return a == "ready" || a == "stats" || a == "config" ? auth::Scope::kRead : auth::Scope::kInfer;
  }
  return auth::Scope::kNone;
}

Method MethodNamed(std::string_view name) {
  if (name == "GET") return Method::kGet;
  if (name == "POST") return Method::kPost;
  if (name == "PUT") return Method::kPut;
  return Method::kOther;
}

void HandleRequest(runtime::Server& server, const HttpRequest& request, Reply reply, RouteSet routes) {
  const Method method = request.method;
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  if (request.auth) {
    if (auto allowed = request.auth->Check(request.authorization, RequiredScope(path, method)); !allowed) {
      HttpReply refused = ErrorReply(allowed.error());
      refused.ask_for_token = allowed.error().code == core::ErrorCode::kUnauthenticated;
      return reply(std::move(refused));
    }
  }
  if (routes == RouteSet::kAll && (path == "/" || path == "/ui" || path == "/ui/")) {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    HttpReply page{200, std::string(ui::DashboardPage()), "", {}, ui::kDashboardContentType};
    page.headers.emplace_back("Content-Security-Policy", std::string(ui::kDashboardContentSecurityPolicy));
    page.headers.emplace_back("Cache-Control", "no-cache");
    return reply(std::move(page));
  }
  if (path == "/metrics") {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    HttpReply metrics{200, runtime::RenderMetrics(server), "", {}, observe::PrometheusWriter::kContentType};
    return reply(std::move(metrics));
  }
  if (routes == RouteSet::kMetricsOnly && !path.starts_with("/v2/health/")) {
    return reply(ErrorReply(404, fmt::format("no route {} (this port serves /metrics and /v2/health/* only)", path)));
  }
  const auto parts = SplitPath(path);
  if (parts.empty() || parts[0] != "v2") return reply(ErrorReply(404, fmt::format("no route {}", path)));

  if (parts.size() == 1) {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    return reply({200, protocol::EncodeServerMetadata(server.Metadata()), "", {}});
  }
  if (parts[1] == "health" && parts.size() == 3 && (parts[2] == "live" || parts[2] == "ready")) {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    if (parts[2] == "live") return reply({200, R"({"live":true})", "", {}});
    if (auto why = server.NotReadyReason(); !why.empty()) {
      return reply(ErrorReply(503, fmt::format("server is not ready: {}", why)));
    }
    return reply({200, R"({"ready":true})", "", {}});
  }
  if (parts[1] == "figures" && parts.size() == 2) {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    // Whether this caller may use the admin routes (load, unload, router weights): the dashboard
    // shows its controls only then.
    const bool control = !request.auth || request.auth->Check(request.authorization, auth::Scope::kAdmin).has_value();
    return reply({200, protocol::EncodeFigures(server.LiveFiguresReport(), control), "", {}});
  }
  if (parts[1] == "monitoring" && parts.size() == 2) {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    return reply({200, protocol::EncodeMonitoring(server.MonitoringReport()), "", {}});
  }
  if (parts[1] == "streams" && parts.size() == 2) {
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    return reply({200, fmt::format(R"({{"streams":[{}]}})", fmt::join(server.StreamStatus(), ",")), "", {}});
  }
  if (auto extension = UnsupportedExtension(parts)) {
    return reply(ErrorReply(501, fmt::format("ferry does not offer Triton's {} extension ({} is not served; see "
                                             "GET /v2 for the extensions it has)", *extension, path)));
  }
  if (parts[1] == "repository") return RepositoryRoute(server, request, path, parts, std::move(reply));
  if (parts[1] == "models" && parts.size() == 3 && parts[2] == "stats") {  // every model's statistics
    if (method != Method::kGet) return reply(MethodNotAllowed("GET", path));
    auto stats = server.GetStatistics("", 0);
    if (!stats) return reply(ErrorReply(stats.error()));
    return reply({200, protocol::EncodeStatistics(*stats), "", {}});
  }
  if (parts[1] == "models" && parts.size() >= 3) return ModelRoute(server, request, path, parts, reply);
  reply(ErrorReply(404, fmt::format("no route {}", path)));
}

HttpReply HandleRequestAndWait(runtime::Server& server, Method method, std::string_view target, std::string_view body) {
  std::promise<HttpReply> answered;
  auto reply = answered.get_future();
  HandleRequest(server, {.method = method, .target = target, .body = body},
                [&answered](HttpReply r) { answered.set_value(std::move(r)); });
  return reply.get();
}

}  // namespace ferry::http
