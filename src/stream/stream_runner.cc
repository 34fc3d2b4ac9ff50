#include "stream/stream_runner.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <vector>

#include "core/json_writer.h"
#include "routing/route_info.h"
#include "protocol/predict_json.h"
#include "stream/event_codec.h"
#include "stream/kafka_client.h"

namespace ferry::stream {
namespace {

using Clock = std::chrono::steady_clock;

// A model name and version (0: the latest) that events go to.
using Target = std::pair<std::string, std::int64_t>;

// The source offsets a batch will commit, and how many of its messages the broker has yet to
// acknowledge.
struct Pending {
  std::map<std::int32_t, std::int64_t> next_offsets;  // partition -> offset to resume from
  std::size_t outstanding = 0;
};

// Settings at-least-once depends on: the operator's properties cannot change them.
const std::vector<std::string_view> kReserved = {"enable.auto.commit", "enable.auto.offset.store", "enable.idempotence",
                                                 "group.id"};

bool Transient(core::ErrorCode code) {
  return code == core::ErrorCode::kUnavailable || code == core::ErrorCode::kResourceExhausted ||
         code == core::ErrorCode::kDeadlineExceeded;
}

}  // namespace

struct StreamRunner::Impl {
  const StreamSpec& spec;
  StreamCounters& counters;
  runtime::Server& server;
  Kafka consumer;
  Kafka producer;
  std::deque<std::unique_ptr<Pending>> in_flight;
  std::string fatal;  // a delivery that failed for good: the stream stops without committing
  std::map<std::int32_t, std::int64_t> ready_offsets;  // acknowledged, not yet committed
  std::map<std::int32_t, std::int64_t> answered_up_to;  // source partition -> highest offset already answered
  std::string bootstrap;                               // for FindAnswered's scanner
  std::map<std::string, std::string> properties;
  Clock::time_point last_commit{};
  std::atomic<bool> stop{false};

  Impl(const StreamSpec& s, StreamCounters& c, runtime::Server& srv) : spec(s), counters(c), server(srv) {}

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto* pending = static_cast<Pending*>(message->_private);
    if (message->err) {
      self->fatal = fmt::format("a message to '{}' was not delivered: {}", rd_kafka_topic_name(message->rkt),
                                rd_kafka_err2str(message->err));
    }
    --pending->outstanding;
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      spdlog::info("stream '{}': {} partition(s) of '{}' assigned", self->spec.name, partitions->cnt,
                   self->spec.source_topic);
      self->FindAnswered();
      rd_kafka_assign(rk, partitions);
    } else {
      // Before giving partitions up: everything produced for them acknowledged, their offsets committed.
      self->Drain(std::chrono::seconds(30));
      spdlog::info("stream '{}': {} partition(s) revoked", self->spec.name, partitions->cnt);
      rd_kafka_assign(rk, nullptr);
    }
  }

  static void OnCommit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("stream '{}': offset commit failed: {} (the events will be read again)", self->spec.name,
                   rd_kafka_err2str(err));
    }
  }

  core::Result<void> Connect(const StreamConfig& kafka) {
    bootstrap = kafka.bootstrap_servers;
    properties = kafka.properties;
    char error[512];
    FERRY_ASSIGN_OR_RETURN(
        rd_kafka_conf_t * pconf,
        MakeKafkaConf(kafka.bootstrap_servers, kafka.properties,
                      {{"enable.idempotence", "true"}, {"linger.ms", "2"}, {"message.timeout.ms", "0"}}, kReserved));
    rd_kafka_conf_set_dr_msg_cb(pconf, &Impl::OnDelivery);
    rd_kafka_conf_set_opaque(pconf, this);
    producer.reset(rd_kafka_new(RD_KAFKA_PRODUCER, pconf, error, sizeof error));
    if (!producer) return core::InvalidArgument(fmt::format("stream '{}': kafka producer: {}", spec.name, error));

    const char* reset = spec.start_from == StartFrom::kLatest ? "latest" : "earliest";
    FERRY_ASSIGN_OR_RETURN(rd_kafka_conf_t * cconf,
                           MakeKafkaConf(kafka.bootstrap_servers, kafka.properties,
                                         {{"group.id", spec.group},
                                          {"enable.auto.commit", "false"},
                                          {"enable.auto.offset.store", "false"},
                                          {"auto.offset.reset", reset}},
                                         kReserved));
    rd_kafka_conf_set_rebalance_cb(cconf, &Impl::OnRebalance);
    rd_kafka_conf_set_offset_commit_cb(cconf, &Impl::OnCommit);
    rd_kafka_conf_set_opaque(cconf, this);
    consumer.reset(rd_kafka_new(RD_KAFKA_CONSUMER, cconf, error, sizeof error));
    if (!consumer) return core::InvalidArgument(fmt::format("stream '{}': kafka consumer: {}", spec.name, error));
    rd_kafka_poll_set_consumer(consumer.get());
    PartitionList topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), spec.source_topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer.get(), topics.get())) {
      return core::InvalidArgument(fmt::format("stream '{}': cannot subscribe to '{}': {}", spec.name,
                                               spec.source_topic, rd_kafka_err2str(err)));
    }
    return {};
  }

  // Takes the batches at the front whose messages are all acknowledged, and commits their
  // offsets: at once when `sync`, else at most every 50 ms (one commit for many small batches;
  // committing later only means reading more again after a crash).
  void CommitReady(bool sync) {
    while (!in_flight.empty() && in_flight.front()->outstanding == 0 && fatal.empty()) {
      for (const auto& [partition, offset] : in_flight.front()->next_offsets) ready_offsets[partition] = offset;
      in_flight.pop_front();
    }
    if (ready_offsets.empty() || (!sync && Clock::now() - last_commit < std::chrono::milliseconds(50))) return;
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(ready_offsets.size())));
    for (const auto& [partition, offset] : ready_offsets) {
      rd_kafka_topic_partition_list_add(list.get(), spec.source_topic.c_str(), partition)->offset = offset;
    }
    if (auto err = rd_kafka_commit(consumer.get(), list.get(), sync ? 0 : 1); err && sync) {
      spdlog::warn("stream '{}': offset commit failed: {}", spec.name, rd_kafka_err2str(err));
    }
    ++counters.commits;
    ready_offsets.clear();
    last_commit = Clock::now();
  }

  // Waits until everything produced is acknowledged, then commits synchronously.
  void Drain(std::chrono::milliseconds timeout) {
    const auto give_up = Clock::now() + timeout;
    while (!in_flight.empty() && in_flight.back()->outstanding > 0 && fatal.empty() && Clock::now() < give_up) {
      rd_kafka_poll(producer.get(), 10);
    }
    CommitReady(/*sync=*/true);
  }

  // Produces one message; waits while librdkafka's queue is full.
  void Produce(const std::string& topic, std::string_view key, std::string_view value, rd_kafka_headers_t* headers,
               Pending* pending) {
    ++pending->outstanding;
    while (true) {
      const auto err = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(pending), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // the message owns `headers` now
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer.get(), 10);
        continue;
      }
      if (headers) rd_kafka_headers_destroy(headers);
      --pending->outstanding;
      fatal = fmt::format("cannot produce to '{}': {}", topic, rd_kafka_err2str(err));
      return;
    }
  }

  // The event, unchanged, on the error topic, with headers saying why.
  void ProduceError(const rd_kafka_message_t& event, std::string_view stage, std::string_view reason,
                    Pending* pending) {
    ++counters.errors;
    rd_kafka_headers_t* original = nullptr;
    rd_kafka_headers_t* headers = rd_kafka_message_headers(&event, &original) == RD_KAFKA_RESP_ERR_NO_ERROR
                                      ? rd_kafka_headers_copy(original)
                                      : rd_kafka_headers_new(4);
    rd_kafka_header_add(headers, "ferry-error", -1, reason.data(), static_cast<ssize_t>(reason.size()));
    rd_kafka_header_add(headers, "ferry-stage", -1, stage.data(), static_cast<ssize_t>(stage.size()));
    rd_kafka_header_add(headers, "ferry-stream", -1, spec.name.data(), static_cast<ssize_t>(spec.name.size()));
    const std::string source = SourceOf(event);
    rd_kafka_header_add(headers, "ferry-source", -1, source.data(), static_cast<ssize_t>(source.size()));
    Produce(spec.errors_topic, Text(event.key, event.key_len), Text(event.payload, event.len), headers, pending);
  }

  static std::string SourceOf(const rd_kafka_message_t& event) {
    return fmt::format("{}/{}/{}", rd_kafka_topic_name(event.rkt), event.partition, event.offset);
  }

  // Which source offsets already have an answer: every output and error message carries its
  // event's ferry-source header, so the last kAnsweredScan messages of each sink and error
  // partition tell how far earlier members of the group (a process killed before its commit) got.
  // Events read again up to there are counted as duplicates.
  void FindAnswered() {
    constexpr std::int64_t kAnsweredScan = 20000;
    answered_up_to.clear();
    auto conf = MakeKafkaConf(bootstrap, properties,
                              {{"group.id", spec.group + "-scan"}, {"enable.auto.commit", "false"}},
                              {"group.id", "enable.auto.commit"});
    if (!conf) return;
    char error[512];
    Kafka scanner(rd_kafka_new(RD_KAFKA_CONSUMER, *conf, error, sizeof error));
    if (!scanner) return;
    const std::string prefix = spec.source_topic + "/";
    for (const std::string& topic : {spec.sink_topic, spec.errors_topic}) {
      auto partitions = TopicPartitions(scanner.get(), topic, 5000);
      if (!partitions) continue;
      PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions->size())));
      std::map<std::int32_t, std::int64_t> ends;
      for (const auto& p : *partitions) {
        if (p.high <= p.low) continue;
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.partition)->offset =
            std::max(p.low, p.high - kAnsweredScan);
        ends[p.partition] = p.high;
      }
      if (ends.empty() || rd_kafka_assign(scanner.get(), list.get())) continue;
      const auto give_up = Clock::now() + std::chrono::seconds(10);
      while (!ends.empty() && Clock::now() < give_up) {
        Message m(rd_kafka_consumer_poll(scanner.get(), 100));
        if (!m || m->err) continue;
        const std::string_view source = HeaderValue(*m, "ferry-source");
        if (source.starts_with(prefix)) {
          const auto rest = source.substr(prefix.size());
          const auto slash = rest.find('/');
          std::int32_t partition = 0;
          std::int64_t offset = 0;
          if (slash != std::string_view::npos &&
              std::from_chars(rest.data(), rest.data() + slash, partition).ec == std::errc() &&
              std::from_chars(rest.data() + slash + 1, rest.data() + rest.size(), offset).ec == std::errc()) {
            auto& up_to = answered_up_to[partition];
            up_to = std::max(up_to, offset);
          }
        }
        if (auto it = ends.find(m->partition); it != ends.end() && m->offset + 1 >= it->second) ends.erase(it);
      }
    }
    rd_kafka_consumer_close(scanner.get());
  }

  void SetPaused(bool paused) {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(consumer.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned) return;
    PartitionList list(assigned);
    if (paused) {
      rd_kafka_pause_partitions(consumer.get(), list.get());
    } else {
      rd_kafka_resume_partitions(consumer.get(), list.get());
    }
  }

  // What one event leads to: an output for the sink, an error (with its stage), or nothing.
  struct Outcome {
    enum class Kind : std::uint8_t { kOutput, kError, kSkip };
    Kind kind = Kind::kError;
    std::string value;  // kOutput: the sink message; kError: the reason
    std::string stage;  // kError: decode, model, or the pipeline step
    routing::RouteInfo route;  // kOutput: which servable answered (sink headers)
  };

  // Waits for an answer, serving the deliveries of earlier batches meanwhile (without blocking in
  // librdkafka, so that the answer is picked up as soon as it comes).
  template <typename T>
  T Await(std::future<T>& future) {
    while (future.wait_for(std::chrono::microseconds(200)) != std::future_status::ready) {
      rd_kafka_poll(producer.get(), 0);
    }
    return future.get();
  }

  // Runs `attempt` until it need not be repeated (it returns true while the model could not take
  // the work: queue full, loading). Meanwhile consumption is paused and the delay grows.
  void WithBackpressure(const std::function<bool()>& attempt) {
    auto delay = std::chrono::milliseconds(5);
    bool paused = false;
    while (attempt() && !stop.load()) {
      if (!paused) {
        spdlog::warn("stream '{}': the model cannot take the batch now; pausing consumption and retrying", spec.name);
        SetPaused(true);
        paused = true;
      }
      ++counters.retries;
      const auto until = Clock::now() + delay;
      while (Clock::now() < until) {
        rd_kafka_poll(producer.get(), 1);
        Message keepalive(rd_kafka_consumer_poll(consumer.get(), 0));  // paused: keeps the group membership
      }
      delay = std::min(delay * 2, std::chrono::milliseconds(1000));
    }
    if (paused) SetPaused(false);
  }

  // Events for a servable that takes records (a pipeline, a router over pipelines): JSON records
  // in, one answer a record. Each event is decided on alone by a router (its own context).
  void RunRecords(const routing::ServableHandle& servable, const std::vector<Message>& batch,
                  const std::vector<std::size_t>& events, std::vector<Outcome>& outcomes) {
    std::vector<std::ptrdiff_t> row_of(batch.size(), -1);
    std::vector<EventContext> contexts;
    contexts.reserve(events.size());
    std::vector<const routing::CallContext*> context_of;
    auto decode = [&] {
      std::vector<core::Record> records;
      records.reserve(events.size());
      contexts.clear();
      context_of.clear();
      for (std::size_t i : events) {
        const rd_kafka_message_t& m = *batch[i];
        if (spec.source_encoder != "json") {
          outcomes[i] = {Outcome::Kind::kError, "a pipeline takes JSON records (source encoder json)", "decode", {}};
          continue;
        }
        auto decoded = protocol::DecodePredictRequest(Text(m.payload, m.len));
        if (!decoded) {
          outcomes[i] = {Outcome::Kind::kError, EventError(decoded.error()), "decode", {}};
        } else if (decoded->instances) {
          outcomes[i] = {Outcome::Kind::kError, "an event must be one record, not {\"instances\": [...]}", "decode", {}};
        } else {
          row_of[i] = static_cast<std::ptrdiff_t>(records.size());
          records.push_back(std::move(decoded->records.front()));
          contexts.emplace_back(m);
        }
      }
      for (const auto& context : contexts) context_of.push_back(&context);
      return records;
    };
    std::optional<core::Result<routing::Predictions>> prediction;
    WithBackpressure([&] {
      std::promise<core::Result<routing::Predictions>> promise;
      auto future = promise.get_future();
      auto records = decode();
      if (records.empty()) return false;
      servable->Predict(std::move(records), context_of, [&promise](core::Result<routing::Predictions> result) {
        promise.set_value(std::move(result));
      });
      prediction = Await(future);
      return !*prediction && Transient(prediction->error().code);
    });
    if (!prediction) return;
    ++counters.batches;
    if (!*prediction) {
      for (std::size_t i : events) {
        if (row_of[i] >= 0) outcomes[i] = {Outcome::Kind::kError, (*prediction).error().message, "model", {}};
      }
      return;
    }
    const routing::Predictions& answers = **prediction;
    for (std::size_t i : events) {
      if (row_of[i] < 0) continue;
      const auto row = static_cast<std::size_t>(row_of[i]);
      const auto& outcome = answers.outcome(row);
      switch (outcome.state) {
        case routing::Predictions::State::kAnswered: {
          Outcome& o = outcomes[i];
          o.kind = Outcome::Kind::kOutput;
          o.route = answers.route(row);
          if (spec.sink_encoder == "none") {
            o.value.assign(Text(batch[i]->payload, batch[i]->len));
          } else {
            core::JsonWriter w(o.value);
            answers.WriteAnswer(row, w);
          }
          break;
        }
        case routing::Predictions::State::kRejected:
          outcomes[i] = {Outcome::Kind::kError, outcome.error, outcome.step, {}};
          break;
        case routing::Predictions::State::kSkipped:
          outcomes[i] = {Outcome::Kind::kSkip, {}, {}, {}};
          break;
      }
    }
  }

  // Events for a servable that takes tensors: one request each, all in flight at once (its
  // scheduler batches them). `requests` holds the requests decoded while routing, if any.
  void RunTensors(const Target& target, const routing::ServableHandle& servable, const std::vector<Message>& batch,
                  const std::vector<std::size_t>& events,
                  std::vector<std::optional<core::Result<core::InferenceRequest>>>& requests,
                  std::vector<Outcome>& outcomes) {
    std::vector<std::optional<core::Result<core::InferenceResponse>>> answers(batch.size());
    std::vector<std::uint8_t> undecodable(batch.size());
    // Raw events take the servable's first input: looked up once a batch, not once an event.
    const auto signature = spec.source_encoder == "json" ? core::ModelSignature() : servable->Signature();
    WithBackpressure([&] {
      std::vector<std::promise<core::Result<core::InferenceResponse>>> promises(events.size());
      std::vector<std::future<core::Result<core::InferenceResponse>>> futures;
      for (std::size_t k = 0; k < events.size(); ++k) {
        const std::size_t i = events[k];
        futures.push_back(promises[k].get_future());
        auto request = requests[i] ? std::move(*requests[i]) : DecodeEventRequest(Text(batch[i]->payload, batch[i]->len), spec.source_encoder, &signature);
        requests[i].reset();  // used up: a retry decodes again
        if (!request) {
          undecodable[i] = 1;
          promises[k].set_value(std::unexpected(request.error()));
          continue;
        }
        request->model_name = target.first;
        request->model_version = target.second;
        const EventContext context(*batch[i]);
        servable->Infer(std::move(*request), context, [&promise = promises[k]](core::Result<core::InferenceResponse> r) {
          promise.set_value(std::move(r));
        });
      }
      bool retry = false;
      for (std::size_t k = 0; k < events.size(); ++k) {
        answers[events[k]] = Await(futures[k]);
        retry |= !*answers[events[k]] && Transient(answers[events[k]]->error().code);
      }
      return retry;
    });
    ++counters.batches;
    for (std::size_t i : events) {
      if (!answers[i]) continue;
      const auto& answer = *answers[i];
      if (answer && answer->outputs.empty()) {
        outcomes[i] = {Outcome::Kind::kSkip, {}, {}, {}};  // a model's Python hook skipped it (docs/python.md)
      } else if (answer) {
        outcomes[i] = {Outcome::Kind::kOutput, EncodeEventAnswer(*answer, Text(batch[i]->payload, batch[i]->len), spec.sink_encoder), {}, routing::RouteOf(*answer)};
      } else {
        outcomes[i] = {Outcome::Kind::kError, answer.error().message, undecodable[i] ? "decode" : "model", {}};
      }
    }
  }

  // The servable answering for a target, waiting (paused) while it cannot serve for a while.
  core::Result<routing::ServableHandle> ResolveTarget(const Target& target) {
    auto servable = server.Resolve(target.first, target.second);
    if (!servable && Transient(servable.error().code)) {
      WithBackpressure([&] {
        servable = server.Resolve(target.first, target.second);
        return !servable && Transient(servable.error().code);
      });
    }
    return servable;
  }

  void ProcessBatch(std::vector<Message>& batch) {
    auto pending = std::make_unique<Pending>();
    for (const auto& m : batch) pending->next_offsets[m->partition] = m->offset + 1;
    Pending* p = pending.get();
    in_flight.push_back(std::move(pending));

    // Where each event goes: the stream's model, or the one its headers name, or -- for a V2
    // request to a servable that takes tensors -- the one its body names. Each target is
    // resolved once a batch.
    std::vector<Outcome> outcomes(batch.size());
    std::vector<std::optional<Target>> target_of(batch.size());
    std::vector<std::uint8_t> named_by_header(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Target target{spec.model, spec.model_version};
      if (const auto named = HeaderValue(*batch[i], "ferry-model"); !named.empty()) {
        target = {std::string(named), 0};
        named_by_header[i] = 1;
      }
      if (const auto v = HeaderValue(*batch[i], "ferry-model-version"); !v.empty()) {
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), target.second);
        if (ec != std::errc() || end != v.data() + v.size() || target.second < 1) {
          outcomes[i] = {Outcome::Kind::kError, fmt::format("header ferry-model-version '{}' is not a version", v),
                         "decode", {}};
          continue;
        }
        named_by_header[i] = 1;
      }
      target_of[i] = std::move(target);
    }
    std::map<Target, core::Result<routing::ServableHandle>> resolved;
    auto resolve = [&](const Target& target) -> const core::Result<routing::ServableHandle>& {
      auto it = resolved.find(target);
      if (it == resolved.end()) it = resolved.emplace(target, ResolveTarget(target)).first;
      return it->second;
    };
    std::vector<std::optional<core::Result<core::InferenceRequest>>> requests(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!target_of[i] || named_by_header[i] || spec.source_encoder != "json") continue;
      const auto& servable = resolve(*target_of[i]);
      if (!servable || (*servable)->TakesRecords()) continue;
      requests[i] = DecodeEventRequest(Text(batch[i]->payload, batch[i]->len), spec.source_encoder, nullptr);
      if (*requests[i] && !(*requests[i])->model_name.empty()) {
        target_of[i] = Target{(*requests[i])->model_name, (*requests[i])->model_version};
      }
    }
    std::map<Target, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (target_of[i]) groups[*target_of[i]].push_back(i);
    }
    for (const auto& [target, events] : groups) {
      const auto& servable = resolve(target);
      if (!servable) {
        for (std::size_t i : events) outcomes[i] = {Outcome::Kind::kError, servable.error().message, "model", {}};
      } else if ((*servable)->TakesRecords()) {
        RunRecords(*servable, batch, events, outcomes);
      } else {
        RunTensors(target, *servable, batch, events, requests, outcomes);
      }
    }

    for (std::size_t i = 0; i < batch.size(); ++i) {
      const rd_kafka_message_t& event = *batch[i];
      const Outcome& o = outcomes[i];
      switch (o.kind) {
        case Outcome::Kind::kOutput: {
          const std::string_view key = spec.key_from_source ? Text(event.key, event.key_len) : std::string_view();
          rd_kafka_headers_t* headers = rd_kafka_headers_new(7);
          const std::string source = SourceOf(event);
          rd_kafka_header_add(headers, "ferry-source", -1, source.data(), static_cast<ssize_t>(source.size()));
          o.route.ForEachField([&](std::string_view name, std::string_view value) {
            rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                                static_cast<ssize_t>(value.size()));
          });
          Produce(spec.sink_topic, key, o.value, headers, p);
          ++counters.produced;
          break;
        }
        case Outcome::Kind::kError: ProduceError(event, o.stage, o.value, p); break;
        case Outcome::Kind::kSkip: ++counters.skipped; break;
      }
    }
    batch.clear();
    CommitReady(/*sync=*/false);
  }

  void Run() {
    std::vector<Message> batch;
    batch.reserve(static_cast<std::size_t>(spec.max_events));
    while (!stop.load() && fatal.empty()) {
      Clock::time_point deadline = Clock::time_point::max();
      while (batch.size() < static_cast<std::size_t>(spec.max_events) && !stop.load()) {
        const auto now = Clock::now();
        if (now >= deadline) break;
        const int wait_ms = batch.empty() ? 100
                                          : static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                 deadline - now).count());
        Message m(rd_kafka_consumer_poll(consumer.get(), std::max(wait_ms, 0)));
        rd_kafka_poll(producer.get(), 0);
        if (!m) {
          if (batch.empty()) CommitReady(false);
          if (!batch.empty() && wait_ms <= 0) break;
          continue;
        }
        if (m->err) {
          if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            spdlog::warn("stream '{}': consumer: {}", spec.name, rd_kafka_message_errstr(m.get()));
          }
          continue;
        }
        ++counters.consumed;
        if (auto it = answered_up_to.find(m->partition); it != answered_up_to.end() && m->offset <= it->second) {
          ++counters.duplicated;
        }
        if (batch.empty()) deadline = Clock::now() + std::chrono::milliseconds(spec.max_wait_ms);
        batch.push_back(std::move(m));
      }
      if (!batch.empty()) ProcessBatch(batch);
    }
    if (!fatal.empty()) {
      spdlog::error("stream '{}' stopped: {}; offsets after the last acknowledged batch are not committed",
                    spec.name, fatal);
      return;
    }
    Drain(std::chrono::seconds(30));
  }
};

core::Result<std::unique_ptr<StreamRunner>> StreamRunner::Start(const StreamConfig& kafka, const StreamSpec& spec,
                                                                runtime::Server& server) {
  std::unique_ptr<StreamRunner> runner(new StreamRunner(spec));
  runner->impl_ = std::make_unique<Impl>(runner->spec_, *runner->counters_, server);
  FERRY_RETURN_IF_ERROR(runner->impl_->Connect(kafka));
  spdlog::info("stream '{}': {} -> {} -> {} (errors: {}), group {}, batches of up to {} events / {} ms", spec.name,
               spec.source_topic, spec.model, spec.sink_topic, spec.errors_topic, spec.group, spec.max_events,
               spec.max_wait_ms);
  if (!spec.feedback_topic.empty()) {
    FERRY_ASSIGN_OR_RETURN(runner->feedback_, FeedbackSubscriber::Start(kafka, spec, server, *runner->counters_));
  }
  runner->thread_ = std::jthread([impl = runner->impl_.get()] { impl->Run(); });
  return runner;
}

void StreamRunner::Stop() {
  if (feedback_) feedback_->Stop();
  if (!impl_) return;
  impl_->stop.store(true);
  if (thread_.joinable()) thread_.join();
  if (impl_->consumer) rd_kafka_consumer_close(impl_->consumer.get());
  if (impl_->producer) rd_kafka_flush(impl_->producer.get(), 10000);
  impl_.reset();
}

StreamRunner::StreamRunner(StreamSpec spec) : spec_(std::move(spec)) {}

StreamRunner::~StreamRunner() { Stop(); }

}  // namespace ferry::stream
