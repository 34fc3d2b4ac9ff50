// The stream event codecs (stream/event_codec.h): pure functions every Kafka or MQTT event and
// answer goes through, whatever the transport.
#include "stream/event_codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/tensor.h"
#include "stream/event.h"

namespace ferry::stream {
namespace {

using core::DataType;

const core::ModelSignature kTextModel{.inputs = {{"text", DataType::kBytes, core::Shape({-1, 1})}}, .outputs = {}};
const core::ModelSignature kTableModel{.inputs = {{"features", DataType::kFp32, core::Shape({-1, 8})}}, .outputs = {}};

TEST(EventCodec, AJsonEventIsAV2RequestAndItsFaultsSpeakOfTheEvent) {
  auto request = DecodeEventRequest(
      R"({"inputs":[{"name":"features","shape":[1,8],"datatype":"FP32","data":[6,148,72,35,0,33.6,0.627,50]}]})", "json",
      nullptr);
  ASSERT_TRUE(request.has_value()) << request.error().message;
  ASSERT_EQ(request->inputs.size(), 1u);
  EXPECT_EQ(request->inputs[0].values<float>()[1], 148.0f);

  auto bad = DecodeEventRequest("not json", "json", nullptr);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(bad.error().message.starts_with("the event")) << bad.error().message;
}

TEST(EventCodec, ARawEventIsTheOneBytesElementOfTheFirstInput) {
  auto request = DecodeEventRequest("a sentence", "raw", &kTextModel);
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->inputs[0].shape().ToString(), "[1, 1]");
  std::string seen;
  core::ForEachBytesElement(request->inputs[0].bytes(), [&](std::string_view e) { seen = e; });
  EXPECT_EQ(seen, "a sentence");

  auto wrong = DecodeEventRequest("x", "raw", &kTableModel);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().message.find("'features' is FP32"), std::string::npos) << wrong.error().message;
}

TEST(EventCodec, AnswersByTheSinkEncoder) {
  core::InferenceResponse response;
  response.model_name = "m";
  auto probability = core::Tensor::Allocate("probability", DataType::kFp32, {1, 1}).value();
  probability.values<float>()[0] = 0.25f;
  response.outputs.push_back(std::move(probability));
  const std::string json = EncodeEventAnswer(response, "the event", "json");
  EXPECT_NE(json.find(R"("name":"probability")"), std::string::npos) << json;
  EXPECT_NE(json.find("0.25"), std::string::npos) << json;
  EXPECT_EQ(EncodeEventAnswer(response, "the event", "none"), "the event");
  const std::string raw = EncodeEventAnswer(response, "the event", "raw");
  ASSERT_EQ(raw.size(), sizeof(float));
  float back = 0;
  std::memcpy(&back, raw.data(), sizeof back);
  EXPECT_EQ(back, 0.25f);

  core::InferenceResponse text;
  auto label = core::Tensor::AllocateBytes("label", DataType::kBytes, {2}, 4 + 3 + 4 + 2);
  auto* out = label.bytes().data();
  out += core::WriteBytesElement(out, "yes");
  core::WriteBytesElement(out, "no");
  text.outputs.push_back(std::move(label));
  EXPECT_EQ(EncodeEventAnswer(text, "", "raw"), "yes") << "a BYTES output's first element";
}

TEST(EventCodec, AnErrorReplyIsJsonWhateverTheReason) {
  EXPECT_EQ(EncodeEventError("field 'age' is missing"), R"({"error":"field 'age' is missing"})");
  EXPECT_EQ(EncodeEventError("a \"quote\"\n"), R"({"error":"a \"quote\"\n"})");
}

TEST(EventCodec, HeaderNamesCompareWithoutCase) {
  EXPECT_TRUE(SameHeaderName("Ferry-Model", "ferry-model"));
  EXPECT_FALSE(SameHeaderName("ferry-model", "ferry-models"));
}

}  // namespace
}  // namespace ferry::stream
