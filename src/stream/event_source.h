// EventSource: where a stream's events come from, whatever the transport (Kafka:
// kafka/kafka_source.h; MQTT: mqtt/mqtt_source.h), as the run loop (stream_loop.h) uses it: open,
// read a batch, record it in the offset ledger, acknowledge what the ledger lets (commit offsets,
// PUBACK), pause while the model or the sink cannot take work. Every call comes from the stream's
// thread.
//
// A source may lose the batch in hand (Kafka partitions revoked, the MQTT connection failed):
// Lost() says so, the loop does not answer it, and the broker delivers it again. Connection
// trouble is the source's to heal (backing off with the reason in the stream's state).
#pragma once

#include <atomic>
#include <chrono>
#include <span>

#include "stream/event.h"
#include "stream/event_sink.h"
#include "stream/offset_ledger.h"
#include "stream/stream_config.h"
#include "stream/stream_health.h"
#include "stream/stream_metrics.h"

namespace ferry::stream {

// What a stream's source and loop share, owned by the loop.
struct StreamParts {
  const StreamSpec& spec;
  StreamCounters& counters;
  StreamHealth& health;
  StateKeeper& states;
  OffsetLedger& ledger;
  EventSink& sink;
  const std::atomic<bool>& stop;
};

class EventSource {
 public:
  virtual ~EventSource() = default;

  // Starts reading (Kafka: subscribes; MQTT: connects and subscribes, backing off while the
  // broker cannot be reached). False when the stream stops first, or for good.
  virtual bool Open() = 0;
  // The next batch: up to `max_events` events, until `max_wait_ms` after the first; empty after
  // about 100 ms without any, or when stopping. Runs the sink's acknowledgements meanwhile. The
  // events live until the next Read().
  virtual std::span<const Event* const> Read() = 0;
  // The batch just read, opened in the ledger with what acknowledging it means here.
  virtual OffsetLedger::Batch* Record() = 0;
  // Acknowledges what the ledger lets: at once when `sync`, else when due (commits are batched).
  virtual void Acknowledge(bool sync) = 0;
  // While the model or the sink cannot take work: Pause(true), then Wait() in turns (which keeps
  // the source alive: group membership, acknowledgements), then Pause(false).
  virtual void Pause(bool paused) = 0;
  virtual void Wait(std::chrono::milliseconds duration) = 0;
  // The batch in hand is lost and comes again; cleared by the next Read().
  virtual bool Lost() const = 0;
  // The end of the stream's thread: what is answered is acknowledged; a stream stopped for good
  // leaves (its Kafka group, so that others take its partitions).
  virtual void Close() = 0;
};

}  // namespace ferry::stream
