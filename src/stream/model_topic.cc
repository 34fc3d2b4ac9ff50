#include "stream/model_topic.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <optional>

#include "core/json_writer.h"
#include "observe/prometheus.h"
#include "model/repository.h"
#include "stream/kafka/kafka_client.h"
#include "stream/model_package.h"

namespace ferry::stream {
namespace {

namespace fs = std::filesystem;

std::optional<std::int64_t> ToInt(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

core::Result<void> PublishModel(const PublishRequest& request) {
  struct Outcome {
    std::size_t outstanding = 0;
    std::string error;
  } outcome;
  FERRY_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                         MakeKafkaConf(request.bootstrap_servers, request.properties,
                                       {{"enable.idempotence", "true"}, {"message.max.bytes", "1048576"}}));
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* o = static_cast<Outcome*>(opaque);
    if (m->err && o->error.empty()) o->error = rd_kafka_err2str(m->err);
    --o->outstanding;
  });
  rd_kafka_conf_set_opaque(conf, &outcome);
  char error[512];
  Kafka producer(rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error));
  if (!producer) return core::InvalidArgument(fmt::format("kafka producer: {}", error));

  const std::string version = std::to_string(request.version);
  const std::size_t chunks = std::max<std::size_t>(1, (request.package.size() + request.chunk_bytes - 1) / request.chunk_bytes);
  auto send = [&](std::string_view value, rd_kafka_headers_t* headers) -> core::Result<void> {
    ++outcome.outstanding;
    while (true) {
      const auto err = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_TOPIC(request.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(request.name.data(), request.name.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return {};
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer.get(), 10);
        continue;
      }
      rd_kafka_headers_destroy(headers);
      --outcome.outstanding;
      return core::Unavailable(fmt::format("cannot produce to '{}': {}", request.topic, rd_kafka_err2str(err)));
    }
  };
  for (std::size_t i = 0; i < chunks; ++i) {
    const std::size_t begin = i * request.chunk_bytes;
    rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
    AddHeader(headers, "ferry-model", request.name);
    AddHeader(headers, "ferry-version", version);
    AddHeader(headers, "ferry-part", fmt::format("{}/{}", i, chunks));
    FERRY_RETURN_IF_ERROR(send(std::string_view(request.package).substr(begin, request.chunk_bytes), headers));
  }
  std::string manifest;
  core::JsonWriter w(manifest);
  w.BeginObject();
  w.Key("name");
  w.String(request.name);
  w.Key("version");
  w.Number(request.version);
  w.Key("size");
  w.Number(static_cast<std::uint64_t>(request.package.size()));
  w.Key("sha256");
  w.String(Sha256Hex(request.package));
  w.Key("chunks");
  w.Number(static_cast<std::uint64_t>(chunks));
  w.EndObject();
  rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
  AddHeader(headers, "ferry-model", request.name);
  AddHeader(headers, "ferry-version", version);
  AddHeader(headers, "ferry-manifest", "1");
  FERRY_RETURN_IF_ERROR(send(manifest, headers));
  rd_kafka_flush(producer.get(), 60000);
  if (!outcome.error.empty()) return core::Unavailable(fmt::format("publishing failed: {}", outcome.error));
  if (outcome.outstanding > 0) return core::MakeError(core::ErrorCode::kDeadlineExceeded, "publishing: the broker did not acknowledge in 60 s");
  return {};
}

struct ModelSubscriber::Impl {
  StreamConfig kafka;
  fs::path repository;
  runtime::Server& server;
  ModelTopicCounters& counters;
  Kafka consumer;
  std::atomic<bool> stop{false};

  // A package being reassembled, by (partition, model).
  struct Assembly {
    std::int64_t version = 0;
    std::size_t parts = 0;
    std::size_t next = 0;
    std::string data;
  };
  std::map<std::pair<std::int32_t, std::string>, Assembly> assembling;
  struct Package {
    std::string name;
    std::int64_t version = 0;
    std::string data;
  };
  std::map<std::string, Package> held;  // catching up with start_from: last: the last of each model
  std::map<std::int32_t, std::int64_t> catch_up;  // partition -> end offset at start, while catching up

  Impl(StreamConfig k, fs::path repo, runtime::Server& s, ModelTopicCounters& c)
      : kafka(std::move(k)), repository(std::move(repo)), server(s), counters(c) {}

  core::Result<void> Connect() {
    // Every partition, from the beginning.
    auto reader = ReadEveryPartition(kafka.bootstrap_servers, kafka.properties, kafka.models_topic, "models topic",
                                     [](const PartitionRange&) { return RD_KAFKA_OFFSET_BEGINNING; });
    if (!reader) return std::unexpected(reader.error());
    consumer = std::move(reader->consumer);
    for (const auto& p : reader->partitions) {
      if (kafka.models_from_last && p.high > p.low) catch_up[p.partition] = p.high;
    }
    return {};
  }

  void Refuse(std::string_view name, std::int64_t version, std::string_view why) {
    ++counters.refused;
    spdlog::warn("models topic: model '{}' version {} refused: {}; the current version keeps serving", name, version,
                 why);
  }

  void Apply(const Package& package) {
    const fs::path model_dir = repository / package.name;
    const fs::path incoming = model_dir / fmt::format(".incoming-{}", package.version);
    std::error_code ec;
    fs::remove_all(incoming, ec);
    if (auto unpacked = UnpackModel(package.data, incoming); !unpacked) {
      fs::remove_all(incoming, ec);
      return Refuse(package.name, package.version, unpacked.error().message);
    }
    const fs::path target = model_dir / std::to_string(package.version);
    fs::remove_all(target, ec);
    fs::rename(incoming / "version", target, ec);
    if (!ec && fs::exists(incoming / "model.yaml")) fs::rename(incoming / "model.yaml", model_dir / "model.yaml", ec);
    std::error_code ignored;
    fs::remove_all(incoming, ignored);
    if (ec) return Refuse(package.name, package.version, fmt::format("cannot write it: {}", ec.message()));
    ++counters.applied;
    spdlog::info("models topic: model '{}' version {} received ({} bytes); loading", package.name, package.version,
                 package.data.size());
    server.RefreshModel(package.name, [name = package.name, version = package.version](core::Result<void> loaded) {
      if (loaded) {
        spdlog::info("models topic: model '{}' version {} serves", name, version);
      } else {
        spdlog::warn("models topic: model '{}' version {}: {}", name, version, loaded.error().message);
      }
    });
  }

  void OnMessage(const rd_kafka_message_t& m) {
    const std::string name(HeaderValue(m, "ferry-model"));
    const auto version = ToInt(HeaderValue(m, "ferry-version"));
    if (name.empty() || !version || *version < 1 || !model::IsPlainName(name)) {
      return Refuse(name.empty() ? "?" : name, version.value_or(0), "a message without valid ferry-model/ferry-version");
    }
    Assembly& a = assembling[{m.partition, name}];
    if (HeaderValue(m, "ferry-manifest") == "1") {
      Package package{name, *version, std::move(a.data)};
      const Assembly done = std::exchange(a, Assembly{});
      simdjson::dom::parser parser;
      simdjson::dom::element manifest;
      std::string_view sha;
      std::uint64_t size = 0, chunks = 0;
      if (parser.parse(Text(m.payload, m.len)).get(manifest) || manifest["sha256"].get(sha) ||
          manifest["size"].get(size) || manifest["chunks"].get(chunks)) {
        return Refuse(name, *version, "its manifest is not {name, version, size, sha256, chunks}");
      }
      if (done.version != *version || done.next != chunks || done.parts != chunks) {
        return Refuse(name, *version, fmt::format("{} of its {} chunks arrived", done.next, chunks));
      }
      if (package.data.size() != size || Sha256Hex(package.data) != sha) {
        return Refuse(name, *version, "its size or SHA-256 does not match its manifest (corrupt)");
      }
      if (!catch_up.empty()) {
        held[name] = std::move(package);
      } else {
        Apply(package);
      }
      return;
    }
    const std::string_view part = HeaderValue(m, "ferry-part");
    const auto slash = part.find('/');
    const auto index = ToInt(part.substr(0, slash));
    const auto parts = slash == std::string_view::npos ? std::nullopt : ToInt(part.substr(slash + 1));
    if (!index || !parts || *parts < 1) return Refuse(name, *version, "a chunk without a valid ferry-part header");
    if (*index == 0) a = Assembly{.version = *version, .parts = static_cast<std::size_t>(*parts), .next = 0, .data = {}};
    if (a.version != *version || static_cast<std::size_t>(*index) != a.next) {
      a = Assembly{};  // out of sequence: this package cannot complete; its manifest will be refused
      return;
    }
    a.data.append(static_cast<const char*>(m.payload), m.len);
    ++a.next;
  }

  void Run() {
    if (!consumer && !RetryWhileUnavailable(fmt::format("models topic '{}'", kafka.models_topic), [this] { return Connect(); }, stop)) {
      return;
    }
    while (!stop.load()) {
      Message m(rd_kafka_consumer_poll(consumer.get(), 200));
      if (m && !m->err) {
        OnMessage(*m);
        if (auto it = catch_up.find(m->partition); it != catch_up.end() && m->offset + 1 >= it->second) {
          catch_up.erase(it);
        }
      } else if (m && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::warn("models topic: {}", rd_kafka_message_errstr(m.get()));
      }
      if (catch_up.empty() && !held.empty()) {
        for (const auto& [_, package] : held) Apply(package);  // the last complete package of each model
        held.clear();
      }
    }
  }
};

ModelSubscriber::ModelSubscriber() = default;

core::Result<std::unique_ptr<ModelSubscriber>> ModelSubscriber::Start(const StreamConfig& kafka,
                                                                      const fs::path& repository,
                                                                      runtime::Server& server) {
  std::unique_ptr<ModelSubscriber> subscriber(new ModelSubscriber());
  subscriber->impl_ = std::make_unique<Impl>(kafka, repository, server, *subscriber->counters_);
  // A broker that cannot be reached yet does not fail the start: the subscriber keeps trying, and
  // the repository serves meanwhile.
  FERRY_ASSIGN_OR_RETURN(const bool connected,
                         ConnectNowOrLater(fmt::format("models topic '{}'", kafka.models_topic),
                                           [impl = subscriber->impl_.get()] { return impl->Connect(); }));
  if (connected) {
    spdlog::info("models topic '{}': reading every partition ({})", kafka.models_topic,
                 kafka.models_from_last ? "the last complete model of each name first" : "every model in order");
  }
  subscriber->thread_ = std::jthread([impl = subscriber->impl_.get()] { impl->Run(); });
  return subscriber;
}

void ModelSubscriber::Stop() {
  if (!impl_) return;
  impl_->stop.store(true);
  if (thread_.joinable()) thread_.join();
  if (impl_->consumer) rd_kafka_consumer_close(impl_->consumer.get());
  impl_.reset();
}

ModelSubscriber::~ModelSubscriber() { Stop(); }

void RenderModelTopicMetrics(const ModelTopicCounters& counters, std::string& out) {
  observe::PrometheusWriter w(out);
  w.Family("ferry_models_topic_applied_total", "counter", "Models received over the models topic and handed to load.");
  w.Sample("ferry_models_topic_applied_total", {}, static_cast<double>(counters.applied.load()));
  w.Family("ferry_models_topic_refused_total", "counter",
           "Models refused from the models topic (incomplete, corrupt or not unpackable).");
  w.Sample("ferry_models_topic_refused_total", {}, static_cast<double>(counters.refused.load()));
}

}  // namespace ferry::stream
