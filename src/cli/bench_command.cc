#include "cli/bench_command.h"

#include <fmt/format.h>
#include <random>

#include "cli/grpc_module.h"
#include "cli/http_client.h"
#include "cli/infer_command.h"
#include "cli/load_generator.h"
#include "core/json_writer.h"
#include "protocol/v2_json.h"

namespace ferry::cli {
namespace {

struct BenchOptions {
  std::string url;
  std::string model;
  std::int64_t version = 0;
  std::string protocol = "http";
  bool binary = false;
  std::string concurrency_range;  // default 1, or 64 slots with --request-rate
  std::vector<double> request_rates;
  double duration_s = 5;
  double warmup_s = 1;
  std::int64_t batch_size = 1;
  std::vector<std::string> inputs;
  bool json = false;
  ClientSecurity security;
};

// "a", "a:b" or "a:b:step".
core::Result<std::vector<int>> ParseRange(const std::string& text) {
  std::vector<int> bounds;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto colon = text.find(':', pos);
    const auto part = text.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    try {
      bounds.push_back(std::stoi(part));
    } catch (const std::exception&) {
      return core::InvalidArgument(fmt::format("--concurrency-range '{}' is not a, a:b or a:b:step", text));
    }
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  if (bounds.size() > 3 || bounds[0] < 1) {
    return core::InvalidArgument(fmt::format("--concurrency-range '{}' is not a, a:b or a:b:step", text));
  }
  const int end = bounds.size() > 1 ? bounds[1] : bounds[0];
  const int step = bounds.size() > 2 ? bounds[2] : 1;
  if (step < 1 || end < bounds[0]) return core::InvalidArgument("--concurrency-range needs a <= b and step >= 1");
  std::vector<int> values;
  for (int c = bounds[0]; c <= end; c += step) values.push_back(c);
  return values;
}

// The model's inputs as its metadata gives them, from the server.
core::Result<std::vector<core::TensorSpec>> FetchInputs(const BenchOptions& options, const LoadOptions& load) {
  if (load.grpc) {
    FERRY_ASSIGN_OR_RETURN(const GrpcModule* grpc, LoadGrpcModule());
    return grpc->model_inputs(load, options.model, options.version);
  }
  FERRY_ASSIGN_OR_RETURN(auto client, HttpClient::Connect({.host = load.host, .port = load.port, .tls = load.tls},
                                                          load.tls_context));
  std::string target = "/v2/models/" + options.model;
  if (options.version > 0) target += "/versions/" + std::to_string(options.version);
  std::map<std::string, std::string> headers;
  if (!load.token.empty()) headers["Authorization"] = "Bearer " + load.token;
  FERRY_ASSIGN_OR_RETURN(auto answer, client->Send(false, target, "", headers));
  if (answer.status != 200) return core::Unavailable(fmt::format("model metadata: HTTP {}: {}", answer.status, answer.body));
  FERRY_ASSIGN_OR_RETURN(auto metadata, protocol::DecodeModelMetadata(answer.body));
  return metadata.signature.inputs;
}

// Random data of each input's datatype; -1 dims become the batch size (first) or 1.
core::Result<std::vector<core::Tensor>> Synthesize(const std::vector<core::TensorSpec>& specs, std::int64_t batch) {
  std::mt19937 random(42);
  std::vector<core::Tensor> tensors;
  for (const auto& spec : specs) {
    core::Shape shape = spec.shape;
    for (std::size_t i = 0; i < shape.rank(); ++i) {
      if (shape[i] < 0) shape.mutable_dims()[i] = i == 0 ? batch : 1;
    }
    if (spec.type == core::DataType::kBytes) {
      const auto count = *shape.ElementCount();
      core::Tensor t = core::Tensor::AllocateBytes(spec.name, spec.type, std::move(shape), count * 5);
      for (std::int64_t i = 0; i < count; ++i) core::WriteBytesElement(t.bytes().data() + 5 * i, "x");
      tensors.push_back(std::move(t));
      continue;
    }
    FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(spec.name, spec.type, std::move(shape)));
    auto bytes = t.bytes();
    switch (spec.type) {
      case core::DataType::kFp32:
        for (float& v : t.values<float>()) v = std::uniform_real_distribution<float>(0, 1)(random);
        break;
      case core::DataType::kFp64:
        for (double& v : t.values<double>()) v = std::uniform_real_distribution<double>(0, 1)(random);
        break;
      case core::DataType::kFp16:
        for (auto& v : t.values<std::uint16_t>()) v = core::FloatToHalf(std::uniform_real_distribution<float>(0, 1)(random));
        break;
      case core::DataType::kBf16:
        for (auto& v : t.values<std::uint16_t>()) v = core::FloatToBf16(std::uniform_real_distribution<float>(0, 1)(random));
        break;
      case core::DataType::kBool:
        for (auto& b : bytes) b = static_cast<std::byte>(random() & 1);
        break;
      default:  // integers: small values in every byte order
        std::fill(bytes.begin(), bytes.end(), std::byte{0});
        for (std::size_t i = 0; i < bytes.size(); i += core::DataTypeSize(spec.type)) {
          bytes[i] = static_cast<std::byte>(random() % 10);
        }
    }
    tensors.push_back(std::move(t));
  }
  return tensors;
}

void PrintResults(const std::vector<LoadResult>& results, const BenchOptions& options) {
  if (!options.json) return;
  std::string out;
  core::JsonWriter w(out);
  w.BeginArray();
  for (const auto& r : results) {
    w.BeginObject();
    w.Key("concurrency");
    w.Number(r.concurrency);
    if (r.request_rate > 0) {
      w.Key("request_rate");
      w.Number(r.request_rate);
    }
    w.Key("throughput");
    w.Number(r.throughput);
    w.Key("rows_per_second");
    w.Number(r.throughput * static_cast<double>(options.batch_size));
    w.Key("requests");
    w.Number(r.requests);
    w.Key("errors");
    w.Number(r.errors);
    w.Key("p50_ms");
    w.Number(r.p50_ms);
    w.Key("p90_ms");
    w.Number(r.p90_ms);
    w.Key("p95_ms");
    w.Number(r.p95_ms);
    w.Key("p99_ms");
    w.Number(r.p99_ms);
    w.EndObject();
  }
  w.EndArray();
  fmt::print("{}\n", out);
}

// Where and how to connect: the address, TLS and the token, from --url and the security options.
core::Result<LoadOptions> Connection(const BenchOptions& options, bool grpc) {
  FERRY_ASSIGN_OR_RETURN(auto address,
                         ParseServerAddress(options.url.empty() ? (grpc ? "127.0.0.1:8001" : "127.0.0.1:8000")
                                                                : options.url,
                                            grpc ? 8001 : 8000));
  LoadOptions load;
  load.host = address.host;
  load.port = address.port;
  load.grpc = grpc;
  load.binary = options.binary;
  load.tls = address.tls;
  if (address.tls && !grpc) {
    FERRY_ASSIGN_OR_RETURN(load.tls_context, MakeTlsContext(options.security));
  }
  load.security = options.security;
  FERRY_ASSIGN_OR_RETURN(load.token, BearerToken(options.security));
  return load;
}

int Bench(const BenchOptions& options) {
  const bool grpc = options.protocol == "grpc";
  const bool open_loop = !options.request_rates.empty();
  auto range = ParseRange(options.concurrency_range.empty() ? (open_loop ? "64" : "1") : options.concurrency_range);
  auto connection = Connection(options, grpc);
  if (!connection || !range) {
    fmt::print(stderr, "ferry bench: {}\n", (!connection ? connection.error() : range.error()).message);
    return 2;
  }
  core::InferenceRequest request;
  if (!options.inputs.empty()) {
    auto built = BuildInferRequest(options.inputs, options.model, options.version);
    if (!built) {
      fmt::print(stderr, "ferry bench: {}\n", built.error().message);
      return 2;
    }
    request = std::move(*built);
  } else {
    auto specs = FetchInputs(options, *connection);
    auto tensors = specs ? Synthesize(*specs, options.batch_size) : core::Result<std::vector<core::Tensor>>(
                                                                         std::unexpected(specs.error()));
    if (!tensors) {
      fmt::print(stderr, "ferry bench: {}\n", tensors.error().message);
      return 1;
    }
    request.model_name = options.model;
    request.model_version = options.version;
    request.inputs = std::move(*tensors);
  }
  // One step per concurrency (closed loop), or per request rate with the last concurrency as its slots.
  std::vector<std::pair<int, double>> steps;
  if (open_loop) {
    for (double rate : options.request_rates) steps.emplace_back(range->back(), rate);
  } else {
    for (int concurrency : *range) steps.emplace_back(concurrency, 0.0);
  }
  std::vector<LoadResult> results;
  for (const auto& [concurrency, rate] : steps) {
    LoadOptions load = *connection;
    load.concurrency = concurrency;
    load.request_rate = rate;
    load.warmup = std::chrono::milliseconds(static_cast<std::int64_t>(options.warmup_s * 1000));
    load.duration = std::chrono::milliseconds(static_cast<std::int64_t>(options.duration_s * 1000));
    auto result = RunLoad(load, request);
    if (!result) {
      fmt::print(stderr, "ferry bench: {}\n", result.error().message);
      return 1;
    }
    if (!options.json) {
      const std::string step = rate > 0 ? fmt::format("request rate {:g}/s ({} slots)", rate, concurrency)
                                        : fmt::format("concurrency {}", concurrency);
      fmt::print("{}: {:.1f} infer/s ({:.1f} rows/s), latency p50 {:.3f} ms, p90 {:.3f} ms, "
                 "p95 {:.3f} ms, p99 {:.3f} ms, {} errors of {}\n",
                 step, result->throughput, result->throughput * options.batch_size, result->p50_ms,
                 result->p90_ms, result->p95_ms, result->p99_ms, result->errors, result->requests + result->errors);
      if (!result->first_error.empty()) fmt::print("  first error: {}\n", result->first_error);
    }
    results.push_back(std::move(*result));
  }
  PrintResults(results, options);
  for (const auto& r : results) {
    if (r.errors > 0 || r.requests == 0) return 1;
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* bench = app.add_subcommand("bench", "Measure a KServe V2 server's throughput and latency under load");
  bench->add_option("--url", options->url,
                    "Server address: [http://|https://]host:port (default 127.0.0.1:8000, or :8001 for gRPC); "
                    "https:// is TLS");
  bench->add_option("--model", options->model, "Model name")->required();
  bench->add_option("--model-version", options->version, "Model version (default: the server's choice)");
  bench->add_option("--protocol", options->protocol, "http or grpc")
      ->check(CLI::IsMember({"http", "grpc"}))
      ->capture_default_str();
  bench->add_flag("--binary", options->binary, "HTTP: send and receive tensors as binary data");
  bench->add_option("--concurrency-range", options->concurrency_range,
                    "Requests in flight: a, a:b or a:b:step (one measurement per value)")
      ->capture_default_str();
  bench->add_option("--request-rate", options->request_rates,
                    "Open loop instead: requests per second (repeatable, one measurement each); latency counts "
                    "from when each request was due. --concurrency-range then caps the requests in flight (default "
                    "64)");
  bench->add_option("--duration", options->duration_s, "Seconds measured per concurrency")->capture_default_str();
  bench->add_option("--warmup", options->warmup_s, "Seconds of load before each measurement")->capture_default_str();
  bench->add_option("--batch-size", options->batch_size, "Rows per request for synthesized inputs")
      ->capture_default_str();
  bench->add_option("--input", options->inputs,
                    "Inputs as for ferry infer (name:DTYPE:shape:values, or @request.json); default: synthesized "
                    "from the model's metadata");
  bench->add_flag("--json", options->json, "Print the results as a JSON array");
  AddClientSecurityOptions(*bench, options->security);
  bench->callback([options, &exit_code] { exit_code = Bench(*options); });
}

}  // namespace ferry::cli
