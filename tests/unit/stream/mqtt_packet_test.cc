// MQTT packets (stream/mqtt/packet.h): what ferry sends byte for byte as MQTT 3.1.1 and 5 lay it
// out, what it reads from a broker, and topic filters, matches and sink patterns.
#include "stream/mqtt/packet.h"

#include <gtest/gtest.h>

#include "stream/mqtt/client.h"

namespace ferry::stream::mqtt {
namespace {

using namespace std::string_literals;

TEST(MqttPacket, ConnectAsTheSpecificationLaysItOut) {
  Connect c;
  c.version = Version::k311;
  c.client_id = "f";
  c.keep_alive_s = 30;
  // Fixed header, "MQTT", level 4, flags (clean session 0), keep alive, client id.
  EXPECT_EQ(EncodeConnect(c), "\x10\x0d\x00\x04MQTT\x04\x00\x00\x1e\x00\x01"s "f");
  c.version = Version::k5;
  c.clean = true;
  c.username = "u";
  c.password = "p";
  c.session_expiry_s = 60;
  c.receive_maximum = 20;
  // Flags: user name, password, clean start; properties: session expiry, receive maximum.
  EXPECT_EQ(EncodeConnect(c), "\x10\x1c\x00\x04MQTT\x05\xc2\x00\x1e\x08\x11\x00\x00\x00\x3c\x21\x00\x14"
                              "\x00\x01" "f" "\x00\x01" "u" "\x00\x01" "p"s);
}

TEST(MqttPacket, PublishRoundTripsWithItsProperties) {
  Message m;
  m.topic = "plant/7/scores";
  m.payload = std::string(300, 'x');  // a two-byte remaining length
  m.qos = 1;
  m.id = 513;
  m.retain = true;
  m.properties.correlation_data = "\x00\x01"s;
  m.properties.response_topic = "reply/me";
  m.properties.user = {{"ferry-model", "pima"}, {"ferry-model", "again"}};
  for (const auto version : {Version::k311, Version::k5}) {
    const std::string bytes = EncodePublish(m, version);
    EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x33);  // PUBLISH, QoS 1, retain
    auto size = FrameSize(bytes, 1 << 20);
    ASSERT_TRUE(size.has_value());
    ASSERT_EQ(size->value_or(0), bytes.size());
    EXPECT_FALSE(FrameSize(bytes.substr(0, bytes.size() - 1), 1 << 20)->has_value()) << "needs the last byte";
    auto packet = DecodePacket(bytes, version);
    ASSERT_TRUE(packet.has_value()) << packet.error().message;
    const auto& back = std::get<Message>(*packet);
    EXPECT_EQ(back.topic, m.topic);
    EXPECT_EQ(back.payload, m.payload);
    EXPECT_EQ(back.id, 513);
    EXPECT_EQ(back.qos, 1);
    EXPECT_TRUE(back.retain);
    if (version == Version::k5) {
      EXPECT_EQ(back.properties.correlation_data, m.properties.correlation_data);
      EXPECT_EQ(back.properties.response_topic, m.properties.response_topic);
      EXPECT_EQ(back.properties.user, m.properties.user);
    } else {
      EXPECT_TRUE(back.properties.user.empty()) << "3.1.1 has no properties";
    }
  }
}

TEST(MqttPacket, ReadsWhatABrokerSends) {
  auto connack = DecodePacket("\x20\x06\x01\x00\x03\x21\x00\x14"s, Version::k5);
  ASSERT_TRUE(connack.has_value()) << connack.error().message;
  EXPECT_TRUE(std::get<Connack>(*connack).session_present);
  EXPECT_EQ(std::get<Connack>(*connack).properties.receive_maximum, 20);
  auto refused = DecodePacket("\x20\x02\x00\x05"s, Version::k311);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(CodeText(std::get<Connack>(*refused).code, Version::k311, true), "not authorized");
  auto puback = DecodePacket("\x40\x02\x00\x07"s, Version::k5);  // reason left out: success
  ASSERT_TRUE(puback.has_value());
  EXPECT_EQ(std::get<Ack>(*puback).id, 7);
  EXPECT_EQ(std::get<Ack>(*puback).code, 0);
  auto suback = DecodePacket("\x90\x03\x00\x01\x80"s, Version::k311);
  ASSERT_TRUE(suback.has_value());
  EXPECT_EQ(std::get<Suback>(*suback).codes, std::vector<std::uint8_t>{0x80});
  auto disconnect = DecodePacket("\xe0\x01\x8e"s, Version::k5);
  ASSERT_TRUE(disconnect.has_value());
  EXPECT_EQ(std::get<Disconnect>(*disconnect).code, 0x8E);
  EXPECT_TRUE(std::holds_alternative<Pingresp>(*DecodePacket("\xd0\x00"s, Version::k5)));
}

TEST(MqttPacket, RefusesWhatIsMalformed) {
  EXPECT_FALSE(FrameSize("\x30\xff\xff\xff\xff\x01"s, 1 << 30).has_value()) << "a five-byte length";
  EXPECT_FALSE(FrameSize("\x30\x80\x80\x01"s, 100).has_value()) << "over the size limit";
  EXPECT_FALSE(DecodePacket("\x10\x00"s, Version::k5).has_value()) << "a CONNECT from a broker";
  EXPECT_FALSE(DecodePacket("\x36\x05\x00\x01" "a\x00\x01"s, Version::k311).has_value()) << "QoS 3";
  EXPECT_FALSE(DecodePacket("\x32\x05\x00\x01" "a\x00\x00"s, Version::k311).has_value()) << "packet id 0";
  EXPECT_FALSE(DecodePacket("\x30\x04\x00\x05" "ab"s, Version::k311).has_value()) << "a topic past the end";
  EXPECT_FALSE(DecodePacket("\x30\x04\x00\x01+x"s, Version::k311).has_value()) << "a wildcard in a topic name";
  EXPECT_FALSE(DecodePacket("\x30\x05\x00\x01" "a\x02\x7f"s, Version::k5).has_value()) << "an unknown property";
  EXPECT_FALSE(DecodePacket("\x40\x02\x00"s, Version::k5).has_value()) << "not one whole packet";
}

TEST(MqttTopic, FiltersMatchesAndPatterns) {
  for (const char* ok : {"a", "a/b", "+", "#", "a/+/c", "a/#", "+/+", "/a", "a//b"}) EXPECT_TRUE(ValidFilter(ok)) << ok;
  for (const char* bad : {"", "a/#/b", "a+", "a/b#", "#/a", "a/++"}) EXPECT_FALSE(ValidFilter(bad)) << bad;
  EXPECT_FALSE(ValidTopicName("a/+"));
  EXPECT_TRUE(ValidTopicName("a//b"));

  using Levels = std::vector<std::string_view>;
  EXPECT_EQ(MatchFilter("plant/+/readings", "plant/7/readings"), Levels{"7"});
  EXPECT_EQ(MatchFilter("plant/#", "plant/7/readings"), Levels{"7/readings"});
  EXPECT_EQ(MatchFilter("plant/#", "plant"), Levels{""}) << "# takes the parent level too";
  EXPECT_EQ(MatchFilter("+/+", "a/"), (Levels{"a", ""}));
  EXPECT_EQ(MatchFilter("a/b", "a/b"), Levels{});
  EXPECT_FALSE(MatchFilter("plant/+", "plant/7/readings"));
  EXPECT_FALSE(MatchFilter("plant/+/readings", "plant/7"));
  EXPECT_FALSE(MatchFilter("a/b", "a/c"));
  EXPECT_FALSE(MatchFilter("#", "$SYS/load")) << "$ topics match no leading wildcard";
  EXPECT_TRUE(MatchFilter("$SYS/#", "$SYS/load"));

  EXPECT_EQ(ExpandTopic("plant/{1}/scores/{2}", {"7", "x/y"}).value_or(""), "plant/7/scores/x/y");
  EXPECT_EQ(ExpandTopic("fixed", {}).value_or(""), "fixed");
  EXPECT_FALSE(ExpandTopic("plant/{2}", {"7"}).has_value());
  EXPECT_FALSE(ExpandTopic("plant/{0}", {"7"}).has_value());
  EXPECT_FALSE(ExpandTopic("plant/{x}", {"7"}).has_value());
  EXPECT_FALSE(ExpandTopic("plant/{1", {"7"}).has_value());
  EXPECT_FALSE(ExpandTopic("{1}", {""}).has_value()) << "an empty topic name";
}

TEST(MqttBroker, Urls) {
  auto plain = ParseBrokerUrl("mqtt://broker.example");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->host, "broker.example");
  EXPECT_EQ(plain->port, 1883);
  EXPECT_FALSE(plain->tls);
  auto tls = ParseBrokerUrl("mqtts://10.0.0.1:8884/");
  ASSERT_TRUE(tls.has_value());
  EXPECT_EQ(tls->host, "10.0.0.1");
  EXPECT_EQ(tls->port, 8884);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(ParseBrokerUrl("mqtts://b")->port, 8883);
  EXPECT_EQ(ParseBrokerUrl("[::1]:1999")->host, "::1");
  EXPECT_EQ(ParseBrokerUrl("[::1]:1999")->port, 1999);
  EXPECT_EQ(ParseBrokerUrl("b:1")->port, 1);
  EXPECT_FALSE(ParseBrokerUrl("http://b").has_value());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://b:0").has_value());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://b:x").has_value());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://b:").has_value());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://").has_value());
}

}  // namespace
}  // namespace ferry::stream::mqtt
