#include "stream/stream_runner.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "stream/answered_scan.h"
#include "stream/batch_inference.h"
#include "stream/event_sink.h"
#include "stream/kafka_client.h"
#include "stream/offset_ledger.h"
#include "stream/progress_probe.h"

namespace ferry::stream {
namespace {

using Clock = std::chrono::steady_clock;

// Settings at-least-once depends on: the operator's properties cannot change them.
const std::vector<std::string_view> kReserved = {"enable.auto.commit", "enable.auto.offset.store", "enable.idempotence",
                                                 "group.id"};

}  // namespace

struct StreamRunner::Impl {
  const StreamSpec& spec;
  StreamCounters& counters;
  StreamHealth& health;
  runtime::Server& server;
  OffsetLedger ledger;
  std::unique_ptr<EventSink> sink;  // Kafka or MQTT (event_sink.h)
  BatchInference inference{spec, server, counters,
                           [this](std::string_view what, const std::function<std::optional<core::Error>()>& attempt) {
                             return WithBackpressure(what, attempt);
                           },
                           [this] { sink->Poll(0); }};
  Kafka consumer;
  bool consumer_closed = false;
  std::map<std::int32_t, std::int64_t> ready_offsets;   // committable, not yet committed
  std::map<std::int32_t, std::int64_t> answered_up_to;  // source partition -> highest offset already answered
  std::vector<Message> carried;  // read while a batch waited for its model: the next batch's
  std::string bootstrap;         // for ScanAnswered
  std::map<std::string, std::string> properties;
  Clock::time_point last_commit{};
  Clock::time_point last_probe{};
  StateKeeper states{spec.name, health};
  bool revoked = false;  // partitions were revoked: the batch in hand is abandoned
  std::atomic<bool> stop{false};

  Impl(const StreamSpec& s, StreamCounters& c, StreamHealth& h, runtime::Server& srv)
      : spec(s), counters(c), health(h), server(srv) {}

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      spdlog::info("stream '{}': {} partition(s) of '{}' assigned", self->spec.name, partitions->cnt,
                   self->spec.source_topic);
      if (self->spec.sink_transport == Transport::kKafka) {  // where earlier answers can be read back
        self->answered_up_to = ScanAnswered(self->bootstrap, self->properties, self->spec);
      }
      rd_kafka_assign(rk, partitions);
      std::vector<std::int32_t> assigned;
      for (int i = 0; i < partitions->cnt; ++i) assigned.push_back(partitions->elems[i].partition);
      self->health.SetAssignment(assigned);
      self->states.Settle(StreamState::kAssigned);
    } else {
      // Before giving partitions up: what was answered acknowledged and committed. The batch in
      // hand, if any, is abandoned: its events will be read again by whoever gets them.
      self->Drain(std::chrono::seconds(30));
      self->ledger.Clear();
      self->carried.clear();
      self->revoked = true;
      spdlog::info("stream '{}': {} partition(s) revoked", self->spec.name, partitions->cnt);
      rd_kafka_assign(rk, nullptr);
      self->health.SetAssignment({});
      self->states.Settle(StreamState::kStarting);
    }
  }

  static void OnCommit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("stream '{}': offset commit failed: {} (the events will be read again)", self->spec.name,
                   rd_kafka_err2str(err));
      return;
    }
    std::map<std::int32_t, std::int64_t> committed;
    for (int i = 0; offsets && i < offsets->cnt; ++i) {
      if (!offsets->elems[i].err) committed[offsets->elems[i].partition] = offsets->elems[i].offset;
    }
    self->health.SetCommitted(committed, !committed.empty());
  }

  core::Result<void> Connect(const StreamConfig& kafka) {
    bootstrap = kafka.bootstrap_servers;
    properties = kafka.properties;
    FERRY_ASSIGN_OR_RETURN(sink, MakeSink(kafka, spec, counters, ledger));
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
    char error[512];
    consumer.reset(rd_kafka_new(RD_KAFKA_CONSUMER, cconf, error, sizeof error));
    if (!consumer) return core::InvalidArgument(fmt::format("stream '{}': kafka consumer: {}", spec.name, error));
    rd_kafka_poll_set_consumer(consumer.get());
    return {};
  }

  // Before consuming: the sink can take answers (its topics exist, or the broker creates them on
  // first use; its MQTT broker answers). While it cannot, the stream backs off and asks again.
  bool AwaitSink() {
    for (auto delay = std::chrono::milliseconds(500); !stop.load(); delay = std::min(delay * 2, std::chrono::milliseconds(10000))) {
      const std::string trouble = sink->Ready();
      if (trouble.empty()) return true;
      states.Enter(StreamState::kBackingOff, trouble);
      for (const auto until = Clock::now() + delay; Clock::now() < until && !stop.load();) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return false;
  }

  // Between batches: while the sink cannot deliver (its connection lost), consumption pauses.
  // False when the wait was cut short.
  bool AwaitDelivery() {
    const auto blocked = [this]() -> std::optional<core::Error> {
      sink->Poll(0);
      CommitReady(/*sync=*/false);
      if (std::string trouble = sink->Trouble(); !trouble.empty()) return core::Unavailable(std::move(trouble)).error();
      return std::nullopt;
    };
    return WithBackpressure("the sink", blocked) == Waited::kDone;
  }

  core::Result<void> Subscribe() {
    PartitionList topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), spec.source_topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer.get(), topics.get())) {
      return core::InvalidArgument(fmt::format("cannot subscribe to '{}': {}", spec.source_topic, rd_kafka_err2str(err)));
    }
    return {};
  }

  // Commits what the ledger lets commit: at once when `sync`, else at most every 50 ms (one
  // commit for many small batches; committing later only means reading more again after a crash).
  void CommitReady(bool sync) {
    for (const auto& [partition, offset] : ledger.TakeCommittable()) ready_offsets[partition] = offset;
    health.SetInFlight(ledger.EventsInFlight());
    if (ready_offsets.empty() || (!sync && Clock::now() - last_commit < std::chrono::milliseconds(50))) return;
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(ready_offsets.size())));
    for (const auto& [partition, offset] : ready_offsets) {
      rd_kafka_topic_partition_list_add(list.get(), spec.source_topic.c_str(), partition)->offset = offset;
    }
    if (sync) {
      if (auto err = rd_kafka_commit(consumer.get(), list.get(), 0)) {
        spdlog::warn("stream '{}': offset commit failed: {}", spec.name, rd_kafka_err2str(err));
      } else {
        health.SetCommitted(ready_offsets, true);
      }
    } else {
      rd_kafka_commit(consumer.get(), list.get(), 1);  // OnCommit records it
    }
    ++counters.commits;
    ready_offsets.clear();
    last_commit = Clock::now();
  }

  // Waits until everything produced is acknowledged, then commits synchronously.
  void Drain(std::chrono::milliseconds timeout) {
    const auto give_up = Clock::now() + timeout;
    while (ledger.Unacknowledged() > 0 && sink->failure().empty() && Clock::now() < give_up) sink->Poll(10);
    CommitReady(/*sync=*/true);
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

  // Runs `attempt` until it returns no error (it returns the error that made the model unable to
  // take the work: missing, unavailable, queue full, a timeout). Meanwhile consumption is paused
  // and the delay grows; a shutdown or a rebalance ends the wait with the work not done.
  Waited WithBackpressure(std::string_view what, const std::function<std::optional<core::Error>()>& attempt) {
    auto delay = std::chrono::milliseconds(5);
    bool paused = false;
    Waited waited = Waited::kDone;
    const auto since = Clock::now();
    while (auto error = attempt()) {
      if (stop.load()) {
        waited = Waited::kStopping;
        break;
      }
      if (!paused) {
        ++counters.pauses[static_cast<std::size_t>(ReasonOf(*error))];
        SetPaused(true);
        paused = true;
      }
      states.Enter(StreamState::kPaused, fmt::format("{} cannot take events now ({}); retrying", what, error->message));
      ++counters.retries;
      for (const auto until = Clock::now() + delay; Clock::now() < until && !revoked && !stop.load();) {
        sink->Poll(1);
        // Paused, this only keeps the group membership; a rebalance may assign partitions that
        // are not paused, whose events are kept for the next batch.
        if (Message m{rd_kafka_consumer_poll(consumer.get(), 0)}; m && !m->err) carried.push_back(std::move(m));
      }
      if (revoked) {
        waited = Waited::kRevoked;
        break;
      }
      delay = std::min(delay * 2, std::chrono::milliseconds(1000));
    }
    if (paused && waited != Waited::kRevoked) SetPaused(false);
    if (paused && waited == Waited::kDone) {
      spdlog::info("stream '{}': {} takes events again after {:.1f} s", spec.name, what,
                   std::chrono::duration<double>(Clock::now() - since).count());
      states.Resume();
    }
    return waited;
  }

  // Infers a batch and writes what its events lead to. Returns false when the batch was not
  // decided (a shutdown or a rebalance while it waited for its model): it stays uncommitted.
  bool ProcessBatch(std::vector<Message>& batch) {
    std::map<std::int32_t, std::int64_t> next_offsets;
    for (const auto& m : batch) next_offsets[m->partition] = m->offset + 1;
    OffsetLedger::Batch* const entry = ledger.Open(std::move(next_offsets), batch.size());

    std::vector<KafkaEvent> events;
    std::vector<const Event*> views;
    events.reserve(batch.size());
    views.reserve(batch.size());
    for (const auto& m : batch) views.push_back(&events.emplace_back(*m, &spec.reply));
    const auto outcomes = inference.Infer(views);
    if (!outcomes) return false;
    if (!WriteOutcomes(views, *outcomes, *sink, counters, entry)) return false;  // the stream stops; not committed
    ledger.Decide(entry);
    if (states.settled() != StreamState::kRunning) states.Settle(StreamState::kRunning);
    CommitReady(/*sync=*/false);
    return true;
  }

  // A consumer error: Kafka trouble that heals (the broker down, a topic missing, authorization
  // refused) backs off -- librdkafka keeps retrying -- and a fatal one stops the stream.
  void OnConsumerError(const rd_kafka_message_t& m) {
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    if (m.err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512];
      rd_kafka_fatal_error(consumer.get(), reason, sizeof reason);
      states.Enter(StreamState::kStopped, fmt::format("kafka: {}", reason));
      return;
    }
    states.Enter(StreamState::kBackingOff, fmt::format("kafka: {}", rd_kafka_message_errstr(&m)));
  }

  // While backing off and no event comes: once a second, whether the broker answers for the
  // source topic again (an idle stream has no event to say so).
  void CheckRecovered() {
    if (states.state() != StreamState::kBackingOff || Clock::now() - last_probe < std::chrono::seconds(1)) return;
    last_probe = Clock::now();
    if (TopicPartitions(consumer.get(), spec.source_topic, 1000)) states.Resume();
  }

  void Run() {
    if (!AwaitSink()) return Finish();
    if (auto subscribed = Subscribe(); !subscribed) {
      states.Enter(StreamState::kStopped, subscribed.error().message);
      return Finish();
    }
    std::vector<Message> batch;
    batch.reserve(static_cast<std::size_t>(spec.max_events));
    while (!stop.load() && states.state() != StreamState::kStopped) {
      Clock::time_point deadline = Clock::time_point::max();
      batch = std::move(carried);
      carried.clear();
      if (!batch.empty()) deadline = Clock::now();
      while (batch.size() < static_cast<std::size_t>(spec.max_events) && !stop.load()) {
        const auto now = Clock::now();
        if (now >= deadline) break;
        const int wait_ms = batch.empty() ? 100
                                          : static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                 deadline - now).count());
        Message m(rd_kafka_consumer_poll(consumer.get(), std::max(wait_ms, 0)));
        sink->Poll(0);
        if (revoked) {  // what was read before the rebalance is read again by the new owner
          batch.clear();
          revoked = false;
        }
        if (!m) {
          if (batch.empty()) CommitReady(false);
          if (batch.empty()) CheckRecovered();
          if (!batch.empty() && wait_ms <= 0) break;
          continue;
        }
        if (m->err) {
          OnConsumerError(*m);
          continue;
        }
        if (states.state() == StreamState::kBackingOff) states.Resume();
        ++counters.consumed;
        if (auto it = answered_up_to.find(m->partition); it != answered_up_to.end() && m->offset <= it->second) {
          ++counters.duplicated;
        }
        if (batch.empty()) deadline = Clock::now() + std::chrono::milliseconds(spec.max_wait_ms);
        batch.push_back(std::move(m));
      }
      if (!batch.empty() && !ProcessBatch(batch)) {
        revoked = false;  // abandoned: read again from the last commit, by us or the new owner
        if (!sink->failure().empty()) states.Enter(StreamState::kStopped, sink->failure());
      }
      batch.clear();
      if (!AwaitDelivery()) revoked = false;
    }
    Finish();
  }

  // The end of the thread: what is answered is committed; a stream stopped for good leaves its
  // group at once, so that other instances take its partitions.
  void Finish() {
    Drain(std::chrono::seconds(30));
    if (states.state() == StreamState::kStopped) {
      spdlog::error("stream '{}': leaving group '{}'; offsets after the last answered batch are not committed",
                    spec.name, spec.group);
      rd_kafka_consumer_close(consumer.get());
      consumer_closed = true;
    }
  }

};

core::Result<std::unique_ptr<RunningStream>> StreamRunner::Start(const StreamConfig& kafka, const StreamSpec& spec,
                                                                runtime::Server& server) {
  std::unique_ptr<StreamRunner> runner(new StreamRunner(spec));
  runner->impl_ = std::make_unique<Impl>(runner->spec_, *runner->counters_, *runner->health_, server);
  FERRY_RETURN_IF_ERROR(runner->impl_->Connect(kafka));
  spdlog::info("stream '{}': {} -> {} -> {} {} (errors: {}), group {}, batches of up to {} events / {} ms", spec.name,
               spec.source_topic, spec.model, TransportName(spec.sink_transport), spec.sink_topic,
               spec.tolerate_errors ? spec.errors_topic : "none: the stream stops at a bad event", spec.group,
               spec.max_events, spec.max_wait_ms);
  if (!spec.feedback_topic.empty()) {
    FERRY_ASSIGN_OR_RETURN(runner->feedback_, FeedbackSubscriber::Start(kafka, spec, server, *runner->counters_));
  }
  runner->thread_ = std::jthread([impl = runner->impl_.get()] { impl->Run(); });
  runner->progress_ = std::jthread([impl = runner->impl_.get()](std::stop_token token) {
    WatchProgress(impl->consumer.get(), impl->spec.source_topic, impl->health, token);
  });
  return std::unique_ptr<RunningStream>(std::move(runner));
}

void StreamRunner::Stop() {
  if (feedback_) feedback_->Stop();
  if (!impl_) return;
  impl_->stop.store(true);
  if (thread_.joinable()) thread_.join();
  progress_.request_stop();
  if (progress_.joinable()) progress_.join();
  if (impl_->consumer && !impl_->consumer_closed) rd_kafka_consumer_close(impl_->consumer.get());
  if (impl_->sink) impl_->sink->Flush(10000);
  if (health_->Read().state != StreamState::kStopped) health_->SetState(StreamState::kStopped, "the server shut down");
  impl_.reset();
}

StreamView StreamRunner::view() const {
  return {.name = spec_.name,
          .transport = std::string(TransportName(spec_.source_transport)),
          .sink_transport = std::string(TransportName(spec_.sink_transport)),
          .source_topic = spec_.source_topic,
          .model = spec_.model,
          .sink_topic = spec_.sink_topic,
          .errors_topic = spec_.errors_topic,
          .group = spec_.group,
          .required = spec_.required,
          .counters = counters_,
          .health = health_};
}

StreamRunner::StreamRunner(StreamSpec spec) : spec_(std::move(spec)) {}

StreamRunner::~StreamRunner() { Stop(); }

}  // namespace ferry::stream
