#include "protocol/v2_json.h"

#include "protocol/explain_json.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstring>
#include <limits>
#include <vector>

namespace ferry::protocol {
namespace {

using core::DataType;

std::string OneInput(std::string_view datatype, std::string_view shape, std::string_view data) {
  return fmt::format(R"({{"inputs":[{{"name":"x","datatype":"{}","shape":{},"data":{}}}]}})", datatype, shape, data);
}

// Decodes a one-input request and encodes the tensor back; returns the JSON data array.
std::string RoundTrip(std::string_view datatype, std::string_view shape, std::string_view data) {
  auto request = DecodeInferRequest(OneInput(datatype, shape, data));
  EXPECT_TRUE(request.has_value()) << request.error().message;
  if (!request) return "";
  EXPECT_EQ(request->inputs.size(), 1u);
  EXPECT_EQ(core::DataTypeName(request->inputs[0].type()), datatype);
  std::string out;
  EncodeTensorData(request->inputs[0], out);
  return out;
}

TEST(V2Json, EveryDatatypeRoundTrips) {
  EXPECT_EQ(RoundTrip("BOOL", "[3]", "[true,false,true]"), "[true,false,true]");
  EXPECT_EQ(RoundTrip("UINT8", "[3]", "[0,128,255]"), "[0,128,255]");
  EXPECT_EQ(RoundTrip("UINT16", "[2]", "[0,65535]"), "[0,65535]");
  EXPECT_EQ(RoundTrip("UINT32", "[2]", "[0,4294967295]"), "[0,4294967295]");
  EXPECT_EQ(RoundTrip("UINT64", "[2]", "[0,18446744073709551615]"), "[0,18446744073709551615]");
  EXPECT_EQ(RoundTrip("INT8", "[2]", "[-128,127]"), "[-128,127]");
  EXPECT_EQ(RoundTrip("INT16", "[2]", "[-32768,32767]"), "[-32768,32767]");
  EXPECT_EQ(RoundTrip("INT32", "[2]", "[-2147483648,2147483647]"), "[-2147483648,2147483647]");
  EXPECT_EQ(RoundTrip("INT64", "[2]", "[-9223372036854775808,9223372036854775807]"),
            "[-9223372036854775808,9223372036854775807]");
  EXPECT_EQ(RoundTrip("FP16", "[3]", "[1.5,-2,0.25]"), "[1.5,-2,0.25]");
  EXPECT_EQ(RoundTrip("BF16", "[2]", "[1,-0.5]"), "[1,-0.5]");
  EXPECT_EQ(RoundTrip("FP32", "[3]", "[0.1,-3.5,100]"), "[0.1,-3.5,100]");
  EXPECT_EQ(RoundTrip("FP64", "[2]", "[0.1,1e+300]"), "[0.1,1e+300]");
  EXPECT_EQ(RoundTrip("BYTES", "[3]", R"(["a","","quote\" and \\ \n"])"), R"(["a","","quote\" and \\ \n"])");
}

TEST(V2Json, NullIsNaNForFloatingTypesOnly) {
  // A missing value: ferry writes NaN as null, and reads null back as NaN.
  EXPECT_EQ(RoundTrip("FP64", "[3]", "[1,null,2]"), "[1,null,2]");
  EXPECT_EQ(RoundTrip("FP32", "[2]", "[null,0.5]"), "[null,0.5]");
  for (const char* type : {"INT64", "BOOL", "UINT8"}) {
    EXPECT_FALSE(DecodeInferRequest(OneInput(type, "[2]", "[1,null]")).has_value()) << type;
  }
}

TEST(V2Json, NestedDataIsFlattenedRowMajor) {
  EXPECT_EQ(RoundTrip("INT32", "[2,3]", "[[1,2,3],[4,5,6]]"), "[1,2,3,4,5,6]");
  EXPECT_EQ(RoundTrip("BYTES", "[2,1]", R"([["x"],["y"]])"), R"(["x","y"])");
  EXPECT_EQ(RoundTrip("FP32", "[0,8]", "[]"), "[]");
}

TEST(V2Json, FixedSizeDataLandsInTheBuffer) {
  auto request = DecodeInferRequest(OneInput("FP32", "[1,2]", "[1.25,-2]"));
  ASSERT_TRUE(request.has_value());
  auto values = request->inputs[0].values<float>();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], 1.25f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(request->inputs[0].shape(), core::Shape({1, 2}));
}

TEST(V2Json, ReadsIdParametersAndOutputs) {
  auto request = DecodeInferRequest(R"({"id":"r-1","parameters":{"a":1,"b":"s","c":true,"d":0.5},
      "inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[7],"parameters":{"p":"q"}}],
      "outputs":[{"name":"y","parameters":{"binary_data":false}},{"name":"z"}]})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->id, "r-1");
  EXPECT_EQ(std::get<std::int64_t>(request->parameters.at("a")), 1);
  EXPECT_EQ(std::get<std::string>(request->parameters.at("b")), "s");
  EXPECT_EQ(std::get<bool>(request->parameters.at("c")), true);
  EXPECT_EQ(std::get<double>(request->parameters.at("d")), 0.5);
  ASSERT_EQ(request->outputs.size(), 2u);
  EXPECT_EQ(request->outputs[0].name, "y");
  EXPECT_EQ(request->outputs[1].name, "z");
}

void ExpectError(std::string_view json, std::string_view fragment) {
  auto request = DecodeInferRequest(json);
  ASSERT_FALSE(request.has_value()) << json;
  EXPECT_EQ(request.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(request.error().message.find(fragment), std::string::npos)
      << "message: " << request.error().message << "\nexpected to contain: " << fragment;
}

TEST(V2Json, ErrorsNameTheInputAndTheProblem) {
  ExpectError("{", "not valid JSON");
  ExpectError("[]", "must be a JSON object");
  ExpectError("{}", "request needs 'inputs'");
  ExpectError(R"({"inputs":{}})", "'inputs' must be an array");
  ExpectError(R"({"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]})", "'inputs'[0] needs a string 'name'");
  ExpectError(OneInput("FLOAT", "[1]", "[1]"), "input 'x': unknown datatype 'FLOAT'");
  ExpectError(OneInput("FP32", "[2,8]", "[1,2,3]"), "input 'x': shape [2, 8] needs 16 values, data has 3");
  ExpectError(OneInput("FP32", "[1]", "[1,2,3]"), "input 'x': shape [1] needs 1 values, data has 3");
  ExpectError(OneInput("FP32", "[-1]", "[1]"), "'shape' must hold non-negative integers, got -1");
  ExpectError(OneInput("FP32", "\"2\"", "[1,2]"), "'shape' must be an array");
  ExpectError(OneInput("FP32", "[1]", "[\"a\"]"), "element 0 is a string, expected a number for FP32");
  ExpectError(OneInput("INT32", "[2]", "[1,2.5]"), "element 1 is a number, expected an integer for INT32");
  ExpectError(OneInput("INT8", "[1]", "[200]"), "element 0 (200) is out of range for INT8");
  ExpectError(OneInput("UINT8", "[1]", "[-1]"), "element 0 (-1) is out of range for UINT8");
  ExpectError(OneInput("FP32", "[1]", "[1e300]"), "out of range for FP32");
  ExpectError(OneInput("FP16", "[1]", "[70000]"), "out of range for FP16");
  ExpectError(OneInput("BOOL", "[1]", "[1]"), "expected true or false for BOOL");
  ExpectError(OneInput("BYTES", "[2]", "[\"a\",1]"), "element 1 is an integer, expected a string for BYTES");
  ExpectError(OneInput("BYTES", "[3]", "[\"a\"]"), "shape [3] needs 3 values, data has 1");
  ExpectError(OneInput("FP32", "[100000]", "[1]"), "more elements than the request carries");
  ExpectError(OneInput("FP32", "[100000000000]", "[1]"), "more elements than the limit of 268435456 (--max-tensor-elements)");
  ExpectError(OneInput("FP32", "[1]", "[1]").replace(0, 1, R"({"id":5,)"), "'id' must be a string");
  ExpectError(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]})", "input 'x' needs 'data'");
  ExpectError(R"({"inputs":[{"name":"x","datatype":"FP32","data":[1]}]})", "input 'x' needs a 'shape'");
  ExpectError(R"({"inputs":[],"outputs":[{"nom":"y"}]})", "'outputs'[0] must be an object with a string 'name'");
  ExpectError(R"({"parameters":{"a":[1]},"inputs":[]})", "parameter 'a' must be a string, number or boolean");
}

std::vector<std::byte> Bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(V2JsonBinary, MixedJsonAndBinaryInputsInOrder) {
  // a: INT16 [2] binary (4 bytes), b: JSON, c: BYTES [2] binary ("hi", "").
  const auto binary = Bytes({0x01, 0x00, 0xff, 0xff, 2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0});
  auto request = DecodeInferRequest(
      R"({"inputs":[{"name":"a","datatype":"INT16","shape":[2],"parameters":{"binary_data_size":4}},)"
      R"({"name":"b","datatype":"FP32","shape":[1],"data":[2.5]},)"
      R"({"name":"c","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":10}}]})",
      binary);
  ASSERT_TRUE(request.has_value()) << request.error().message;
  ASSERT_EQ(request->inputs.size(), 3u);
  EXPECT_EQ(request->inputs[0].values<std::int16_t>()[0], 1);
  EXPECT_EQ(request->inputs[0].values<std::int16_t>()[1], -1);
  EXPECT_EQ(request->inputs[1].values<float>()[0], 2.5f);
  std::string out;
  EncodeTensorData(request->inputs[2], out);
  EXPECT_EQ(out, R"(["hi",""])");
}

TEST(V2JsonBinary, ErrorsNameTheInputAndTheSizes) {
  const std::string one = R"({"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":SIZE}}]})";
  auto with_size = [&](std::string_view size) {
    std::string json = one;
    json.replace(json.find("SIZE"), 4, size);
    return json;
  };
  const auto eight = Bytes({0, 0, 0, 0, 0, 0, 0, 0});
  auto past_end = DecodeInferRequest(with_size("12"), eight);
  ASSERT_FALSE(past_end.has_value());
  EXPECT_EQ(past_end.error().message,
            "input 'a': binary_data_size 12 runs past the end of the body (8 bytes of binary data remain)");
  auto negative = DecodeInferRequest(with_size("-4"), eight);
  ASSERT_FALSE(negative.has_value());
  EXPECT_NE(negative.error().message.find("must be a non-negative integer"), std::string::npos);
  auto text = DecodeInferRequest(with_size(R"("8")"), eight);
  ASSERT_FALSE(text.has_value());
  auto wrong_size = DecodeInferRequest(with_size("4"), Bytes({0, 0, 0, 0}));
  ASSERT_FALSE(wrong_size.has_value());
  EXPECT_EQ(wrong_size.error().message, "tensor 'a': shape [2] of FP32 needs 2 values of 4 bytes, got 4 bytes");
  auto unclaimed = DecodeInferRequest(with_size("8"), Bytes({0, 0, 0, 0, 0, 0, 0, 0, 1}));
  ASSERT_FALSE(unclaimed.has_value());
  EXPECT_EQ(unclaimed.error().message, "the body has 1 bytes of binary data that no input claims with binary_data_size");
  auto both = DecodeInferRequest(
      R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]})",
      Bytes({0, 0, 0, 0}));
  ASSERT_FALSE(both.has_value());
  EXPECT_NE(both.error().message.find("both 'data' and binary_data_size"), std::string::npos);
  auto bad_prefix = DecodeInferRequest(
      R"({"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]})",
      Bytes({9, 0, 0, 0, 'a', 'b'}));
  ASSERT_FALSE(bad_prefix.has_value());
  EXPECT_NE(bad_prefix.error().message.find("claims 9 bytes, only 2 remain"), std::string::npos);
}

TEST(V2JsonBinary, EncodesRequestedOutputsAsBinary) {
  core::InferenceRequest request;
  request.parameters["binary_data_output"] = true;
  request.outputs = {{"x", {{"binary_data", false}}}, {"y", {}}};
  OutputFormat format(request);
  EXPECT_FALSE(format.IsBinary("x"));
  EXPECT_TRUE(format.IsBinary("y"));

  core::InferenceResponse response;
  response.model_name = "m";
  response.model_version = 1;
  auto x = core::Tensor::Allocate("x", DataType::kInt32, {1});
  x->values<std::int32_t>()[0] = 7;
  auto y = core::Tensor::Allocate("y", DataType::kInt16, {2});
  y->values<std::int16_t>()[0] = 1;
  y->values<std::int16_t>()[1] = -2;
  response.outputs.push_back(std::move(*x));
  response.outputs.push_back(std::move(*y));
  std::string out;
  auto header = EncodeInferResponse(response, format, out);
  ASSERT_TRUE(header.has_value());
  const std::string json = R"({"model_name":"m","model_version":"1","outputs":[{"name":"x","datatype":"INT32",)"
                           R"("shape":[1],"data":[7]},{"name":"y","datatype":"INT16","shape":[2],)"
                           R"("parameters":{"binary_data_size":4}}]})";
  EXPECT_EQ(*header, json.size());
  EXPECT_EQ(out.substr(0, *header), json);
  EXPECT_EQ(out.substr(*header), std::string("\x01\x00\xfe\xff", 4));
}

TEST(V2JsonClient, RequestsAndResponsesRoundTrip) {
  auto original = DecodeInferRequest(R"({"id":"q","inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1.5,-2]},)"
                                     R"({"name":"s","datatype":"BYTES","shape":[1],"data":["x"]}],)"
                                     R"("outputs":[{"name":"y"}]})");
  ASSERT_TRUE(original.has_value());
  for (bool binary : {false, true}) {
    std::string body;
    auto header = EncodeInferRequest(*original, binary, binary, body);
    EXPECT_EQ(header.has_value(), binary);
    const std::size_t json_size = header.value_or(body.size());
    auto decoded = DecodeInferRequest(std::string_view(body).substr(0, json_size),
                                      std::as_bytes(std::span(body.data() + json_size, body.size() - json_size)));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->id, "q");
    EXPECT_EQ(decoded->outputs[0].name, "y");
    EXPECT_EQ(OutputFormat(*decoded).IsBinary("y"), binary);
    ASSERT_EQ(decoded->inputs.size(), 2u);
    std::string a, s;
    EncodeTensorData(decoded->inputs[0], a);
    EncodeTensorData(decoded->inputs[1], s);
    EXPECT_EQ(a, "[1.5,-2]");
    EXPECT_EQ(s, R"(["x"])");

    core::InferenceResponse response;
    response.model_name = "m";
    response.model_version = 4;
    response.id = "q";
    response.outputs.push_back(std::move(decoded->inputs[0]));
    std::string answer;
    auto answer_header = EncodeInferResponse(response, OutputFormat(*decoded), answer);
    const std::size_t answer_json = answer_header.value_or(answer.size());
    auto back = DecodeInferResponse(std::string_view(answer).substr(0, answer_json),
                                    std::as_bytes(std::span(answer.data() + answer_json, answer.size() - answer_json)));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(back->model_name, "m");
    EXPECT_EQ(back->model_version, 4);
    ASSERT_EQ(back->outputs.size(), 1u);
    std::string out;
    EncodeTensorData(back->outputs[0], out);
    EXPECT_EQ(out, "[1.5,-2]");
  }
}

TEST(V2Json, LimitsAreCheckedBeforeAllocating) {
  const core::RequestLimits tight{.max_inputs = 1, .max_tensor_elements = 4, .max_json_depth = 6, .max_bytes_element = 3};
  auto check = [&](std::string_view json, std::string_view fragment) {
    auto request = DecodeInferRequest(json, {}, tight);
    ASSERT_FALSE(request.has_value()) << json;
    EXPECT_NE(request.error().message.find(fragment), std::string::npos) << request.error().message;
  };
  check(R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]},)"
        R"({"name":"b","datatype":"FP32","shape":[1],"data":[1]}]})", "more than the limit of 1 (--max-inputs)");
  check(OneInput("FP32", "[5]", "[1,2,3,4,5]"), "more elements than the limit of 4 (--max-tensor-elements)");
  check(OneInput("FP32", "[1]", "[[[[[[[[1]]]]]]]]"), "deeper than 6 levels (--max-json-depth)");
  // Depth counts containers, not the scalars inside them: a plain request is 4 deep.
  const core::RequestLimits four{.max_inputs = 1, .max_tensor_elements = 4, .max_json_depth = 4, .max_bytes_element = 3};
  EXPECT_TRUE(DecodeInferRequest(OneInput("FP32", "[1]", "[1]"), {}, four).has_value());
  const core::RequestLimits three{.max_inputs = 1, .max_tensor_elements = 4, .max_json_depth = 3, .max_bytes_element = 3};
  EXPECT_FALSE(DecodeInferRequest(OneInput("FP32", "[1]", "[1]"), {}, three).has_value());
  check(OneInput("BYTES", "[1]", R"(["abcd"])"), "4 bytes, more than the limit of 3 (--max-bytes-element)");
  const auto raw = std::vector<std::byte>{std::byte{4}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{'a'},
                                          std::byte{'b'}, std::byte{'c'}, std::byte{'d'}};
  auto binary = DecodeInferRequest(
      R"({"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":8}}]})", raw, tight);
  ASSERT_FALSE(binary.has_value());
  EXPECT_NE(binary.error().message.find("(--max-bytes-element)"), std::string::npos);
  EXPECT_TRUE(DecodeInferRequest(OneInput("FP32", "[4]", "[1,2,3,4]"), {}, tight).has_value());
}

TEST(V2Json, EncodesResponses) {
  core::InferenceResponse response;
  response.model_name = "pima";
  response.model_version = 3;
  response.id = "r\"1";
  auto t = core::Tensor::Allocate("probability", DataType::kFp32, {2, 1});
  t->values<float>()[0] = 0.5f;
  t->values<float>()[1] = std::numeric_limits<float>::quiet_NaN();
  response.outputs.push_back(std::move(*t));
  std::string out;
  EXPECT_FALSE(EncodeInferResponse(response, OutputFormat(), out).has_value());
  EXPECT_EQ(out, R"({"model_name":"pima","model_version":"3","id":"r\"1","outputs":[{"name":"probability",)"
                 R"("datatype":"FP32","shape":[2,1],"data":[0.5,null]}]})");
}

TEST(V2Json, EncodesStatisticsAndConfig) {
  runtime::VersionStatistics v{.name = "m", .version = 2, .stats = {}};
  v.stats.inference_count = 3;
  v.stats.execution_count = 2;
  v.stats.success = {2, 500};
  v.stats.batch_stats = {{.batch_size = 2, .compute_input = {1, 1}, .compute_infer = {1, 9}, .compute_output = {1, 1}}};
  EXPECT_EQ(EncodeStatistics({v}),
            R"({"model_stats":[{"name":"m","version":"2","last_inference":0,"inference_count":3,"execution_count":2,)"
            R"("inference_stats":{"success":{"count":2,"ns":500},"fail":{"count":0,"ns":0},"queue":{"count":0,"ns":0},)"
            R"("compute_input":{"count":0,"ns":0},"compute_infer":{"count":0,"ns":0},"compute_output":{"count":0,"ns":0},)"
            R"("cache_hit":{"count":0,"ns":0},"cache_miss":{"count":0,"ns":0}},"batch_stats":[{"batch_size":2,)"
            R"("compute_input":{"count":1,"ns":1},"compute_infer":{"count":1,"ns":9},"compute_output":{"count":1,"ns":1}}],)"
            R"("explain_stats":{"success":{"count":0,"ns":0},"fail":{"count":0,"ns":0},"rows":0}}]})");

  runtime::ModelConfiguration c;
  c.config.name = "m";
  c.config.max_batch_size = 4;
  c.config.version_policy = {.kind = model::VersionPolicy::Kind::kSpecific, .latest = 1, .versions = {1, 3}};
  c.config.instances = 1;  // GetModelConfig fills in the count the version runs
  c.config.parameters = {{"k", "v"}};
  c.platform = "onnxruntime_onnx";
  c.backend = "onnxruntime";
  c.signature = {.inputs = {{"s", DataType::kBytes, {-1, 2}}}, .outputs = {{"y", DataType::kFp16, {-1}}}};
  EXPECT_EQ(EncodeModelConfig(c),
            R"({"name":"m","platform":"onnxruntime_onnx","backend":"onnxruntime","version_policy":{"specific":)"
            R"({"versions":[1,3]}},"max_batch_size":4,"input":[{"name":"s","data_type":"TYPE_STRING","dims":[2]}],)"
            R"("output":[{"name":"y","data_type":"TYPE_FP16","dims":[]}],"instance_group":[{"name":"m",)"
            R"("kind":"KIND_CPU","count":1}],"parameters":{"k":{"string_value":"v"}}})");
  // With dynamic batching on, Triton's dynamic_batching object (its tools read it).
  c.config.dynamic_batching = {.enabled = true, .max_queue_delay_us = 100, .preferred_batch_sizes = {2, 4},
                               .max_queue_size = 64, .default_timeout_us = 5000};
  EXPECT_NE(EncodeModelConfig(c).find(
                R"("dynamic_batching":{"preferred_batch_size":[2,4],"max_queue_delay_microseconds":100,)"
                R"("default_queue_policy":{"max_queue_size":64,"default_timeout_microseconds":5000,"allow_timeout_override":true}})"),
            std::string::npos)
      << EncodeModelConfig(c);
}

TEST(V2Json, EncodesMetadataAndErrors) {
  runtime::ModelMetadata meta{.name = "pima", .versions = {1, 2}, .platform = "onnxruntime_onnx",
                              .signature = {.inputs = {{"features", DataType::kFp32, {-1, 8}}},
                                            .outputs = {{"label", DataType::kInt64, {-1, 1}}}}};
  EXPECT_EQ(EncodeModelMetadata(meta),
            R"({"name":"pima","versions":["1","2"],"platform":"onnxruntime_onnx","inputs":[{"name":"features",)"
            R"("datatype":"FP32","shape":[-1,8]}],"outputs":[{"name":"label","datatype":"INT64","shape":[-1,1]}]})");
  EXPECT_EQ(EncodeError("bad \"x\"\x01"), R"({"error":"bad \"x\"\u0001"})");
  EXPECT_EQ(EncodeServerMetadata({.name = "ferry", .version = "0.1.0", .extensions = {"a"}}),
            R"({"name":"ferry","version":"0.1.0","extensions":["a"]})");
}

TEST(EncodeExplanation, CompactKeepsTheLargestContributionsAndV2NamesColumns) {
  core::Explanation e{.model = "m", .version = 2, .method = "tree_shap", .features = {"a", "b", "c"}, .rows = 1,
                      .outputs = {}};
  e.outputs.push_back({.output = "probability", .column = 0, .space = "margin", .base = {0.5}, .values = {0.25, -2, 1}});
  e.outputs.push_back({.output = "probability", .column = 1, .space = "margin", .base = {-1}, .values = {0, 0, 3}});
  const std::string compact = EncodeExplanation(e, {.top_k = 2, .v2 = false});
  EXPECT_EQ(compact,
            R"({"model_name":"m","model_version":"2","method":"tree_shap","features":["a","b","c"],"explanations":[)"
            R"({"output":"probability:0","space":"margin","rows":[{"base_value":0.5,"prediction":-0.25,)"
            R"("contributions":{"b":-2,"c":1}}]},)"
            R"({"output":"probability:1","space":"margin","rows":[{"base_value":-1,"prediction":2,)"
            R"("contributions":{"c":3,"a":0}}]}]})");
  const std::string v2 = EncodeExplanation(e, {.top_k = 0, .v2 = true});
  EXPECT_NE(v2.find(R"({"name":"feature_names","datatype":"BYTES","shape":[3],"data":["a","b","c"]})"), std::string::npos);
  EXPECT_NE(v2.find(R"({"name":"probability:1.contributions","datatype":"FP64","shape":[1,3],"data":[0,0,3]})"),
            std::string::npos) << v2;
  EXPECT_NE(v2.find(R"({"name":"probability:0.prediction","datatype":"FP64","shape":[1],"data":[-0.25]})"),
            std::string::npos) << v2;
}

TEST(ExplainFormatOf, ReadsTopKAndFormatAndRefusesOthers) {
  core::InferenceRequest request;
  request.parameters["top_k"] = std::int64_t{3};
  request.parameters["format"] = std::string("v2");
  auto format = ExplainFormatOf(request.parameters);
  ASSERT_TRUE(format.has_value());
  EXPECT_EQ(format->top_k, 3u);
  EXPECT_TRUE(format->v2);
  request.parameters["top_k"] = std::string("three");
  EXPECT_FALSE(ExplainFormatOf(request.parameters).has_value());
  request.parameters["top_k"] = std::int64_t{1};
  request.parameters["format"] = true;
  EXPECT_FALSE(ExplainFormatOf(request.parameters).has_value());
}

}  // namespace
}  // namespace ferry::protocol
