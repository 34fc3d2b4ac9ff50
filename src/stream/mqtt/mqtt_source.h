// MqttSource: a stream's events from an MQTT topic filter (event_source.h), subscribed as
// $share/<group>/<filter> when replicas split the messages. The connection is a persistent
// session (clean start off, <client_id>-<stream>), so what a stopped or killed instance had not
// acknowledged comes again; a QoS 1 message is acknowledged (PUBACK), in the order received, only
// once the offset ledger lets: everything its batch caused is with the sink's broker. The broker
// sends at most `in_flight` unacknowledged messages (the MQTT 5 Receive Maximum ferry announces),
// which is the stream's backpressure. A lost connection loses the batch in hand (the broker sends
// it again) and is made again with a growing delay (0.2 s doubling to 10 s). Retained messages
// are acknowledged and not answered unless `retained: true`; so are messages the filter does not
// match, which a subscription of an earlier configuration left in the session brings.
#pragma once

#include <memory>

#include "core/error.h"
#include "stream/event_source.h"

namespace ferry::stream::mqtt {

core::Result<std::unique_ptr<EventSource>> MakeMqttSource(const MqttConfig& config, StreamParts parts);

}  // namespace ferry::stream::mqtt
