#include "model/model_config.h"

#include <gtest/gtest.h>

namespace ferry::model {
namespace {

TEST(ModelConfig, ParsesEveryKey) {
  auto config = ParseModelConfig(R"(
name: pima
backend: onnxruntime
max_batch_size: 64
instances: 2
version_policy: {latest: 2}
inputs:
  - {name: features, datatype: FP32, shape: [-1, 8]}
outputs:
  - name: probability
    datatype: FP32
    shape: [-1, 1]
parameters:
  intra_op_threads: 2
  graph_optimization_level: basic
)", "pima/model.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->name, "pima");
  EXPECT_EQ(config->backend, "onnxruntime");
  EXPECT_EQ(config->max_batch_size, 64);
  EXPECT_EQ(config->instances, 2);
  EXPECT_EQ(config->version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(config->version_policy.latest, 2);
  ASSERT_EQ(config->inputs.size(), 1u);
  EXPECT_EQ(config->inputs[0].name, "features");
  EXPECT_EQ(config->inputs[0].type, core::DataType::kFp32);
  EXPECT_EQ(config->inputs[0].shape, core::Shape({-1, 8}));
  ASSERT_EQ(config->outputs.size(), 1u);
  EXPECT_EQ(config->outputs[0].shape, core::Shape({-1, 1}));
  EXPECT_EQ(config->parameters.at("intra_op_threads"), "2");
  EXPECT_EQ(config->parameters.at("graph_optimization_level"), "basic");
}

TEST(ModelConfig, FeatureNamesAndExplainRows) {
  auto config = ParseModelConfig("feature_names: [age, income]\nexplain: {rows: [[1, 2], [3, 4.5]]}\n", "m/model.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->feature_names, (std::vector<std::string>{"age", "income"}));
  ASSERT_EQ(config->explain_rows.size(), 2u);
  EXPECT_EQ(config->explain_rows[1], (std::vector<double>{3, 4.5}));
  auto file = ParseModelConfig("explain: {background: background.npy, samples: 20000}\n", "m/model.yaml");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->explain_background, "background.npy");
  EXPECT_EQ(file->explain_samples, 20000u);  // --explain-max-samples decides at load
  for (const auto& [yaml, why] : std::vector<std::pair<std::string, std::string>>{
           {"explain: {rows: [[1, 2], [3]]}\n", "must all have 2 numbers"},
           {"explain: {rows: [[1, x]]}\n", "explain.rows"},
           {"explain: {samples: 0}\n", "explain.samples must be >= 1"},
           {"explain: {seed: -1}\n", "explain.seed"},
           {"explain: {background: b.npy, rows: [[1]]}\n", "not both"},
           {"explain: {background: [1]}\n", "explain.background"},
           {"explain: {backgrounds: b.npy}\n", "backgrounds"},
           {"explain: [1]\n", "'explain' must be a map"},
           {"feature_names: []\n", "feature_names"}}) {
    auto bad = ParseModelConfig(yaml, "m/model.yaml");
    ASSERT_FALSE(bad.has_value()) << yaml;
    EXPECT_NE(bad.error().message.find(why), std::string::npos) << bad.error().message;
  }
}

TEST(ModelConfig, PythonHooks) {
  auto config = ParseModelConfig("pre_transform: hooks:make_pre\npredict: hooks:make_predict\n"
                                 "post_transform: hooks:make_post\n", "m/model.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->pre_transform, "hooks:make_pre");
  EXPECT_EQ(config->predict, "hooks:make_predict");
  EXPECT_EQ(config->post_transform, "hooks:make_post");
  auto batching = ParseModelConfig("max_batch_size: 8\ndynamic_batching: {}\npre_transform: h:f\n", "m/model.yaml");
  ASSERT_FALSE(batching.has_value());
  EXPECT_NE(batching.error().message.find("dynamic_batching cannot be on"), std::string::npos);
  auto colon = ParseModelConfig("predict: hooks\n", "m/model.yaml");
  ASSERT_FALSE(colon.has_value());
  EXPECT_NE(colon.error().message.find("'predict' must be module:factory"), std::string::npos);
  auto pipeline = ParseModelConfig("pipeline: [{kind: record, fields: {a: number}}]\npredict: h:f\n", "p/model.yaml");
  ASSERT_FALSE(pipeline.has_value());
  EXPECT_NE(pipeline.error().message.find("a pipeline calls its models in model steps"), std::string::npos);
  // A pipeline's pre_transform and post_transform are its python steps (pipeline.cc), not hooks.
  auto steps = ParseModelConfig("pipeline: [{kind: record, fields: {a: number}}]\npre_transform: h:f\n", "p/model.yaml");
  ASSERT_TRUE(steps.has_value()) << steps.error().message;
  EXPECT_TRUE(steps->pre_transform.empty());
}

TEST(ModelConfig, EmptyFileMeansDefaults) {
  auto config = ParseModelConfig("", "m/model.yaml");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->max_batch_size, 0);
  EXPECT_EQ(config->instances, 0);  // not given: the backend's default
  EXPECT_TRUE(config->inputs.empty());
}

TEST(ModelConfig, InstancesDefaultToTheBackendsCount) {
  auto none = ParseModelConfig("", "m/model.yaml");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(InstanceCount(*none, "onnxruntime"), 2);  // as Triton's CPU default for ONNX Runtime
  EXPECT_EQ(InstanceCount(*none, "python"), 1);
  EXPECT_EQ(InstanceCount(*none, "pmml"), 1);
  auto one = ParseModelConfig("instances: 1\n", "m/model.yaml");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(InstanceCount(*one, "onnxruntime"), 1);  // model.yaml's own count wins
}

void ExpectError(std::string_view yaml, std::string_view fragment) {
  auto config = ParseModelConfig(yaml, "m/model.yaml");
  ASSERT_FALSE(config.has_value()) << yaml;
  EXPECT_EQ(config.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(config.error().message.find(fragment), std::string::npos)
      << "message: " << config.error().message << "\nexpected to contain: " << fragment;
}

TEST(ModelConfig, ErrorsNameTheFileLineAndKey) {
  ExpectError("name: x\nmax_batchsize: 4\n", "m/model.yaml:2: unknown key 'max_batchsize'");
  ExpectError("max_batch_size: many\n", "'max_batch_size' must be an integer >= 0, got 'many'");
  ExpectError("max_batch_size: -3\n", "max_batch_size must be >= 0");
  ExpectError("instances: 0\n", "instances must be between 1 and 256");
  ExpectError("inputs:\n  - {name: x, datatype: FLOAT, shape: [1]}\n", "unknown datatype 'FLOAT'");
  ExpectError("inputs:\n  - {name: x, datatype: FP32}\n", "needs 'shape'");
  ExpectError("inputs:\n  - {name: x, datatype: FP32, shape: [-2]}\n", "dim -2 is invalid");
  ExpectError("inputs:\n  - {name: x, datatype: FP32, shape: [1]}\n  - {name: x, datatype: FP32, shape: [1]}\n",
              "lists 'x' twice");
  ExpectError("inputs:\n  - {datatype: FP32, shape: [1]}\n", "has no 'name'");
  ExpectError("version_policy: newest\n", "version_policy 'newest' is unknown");
  ExpectError("name: [unclosed\n", "not valid YAML");
  ExpectError("- a\n- b\n", "must be a map");
}

TEST(ModelConfig, DynamicBatching) {
  auto config = ParseModelConfig("max_batch_size: 32\ndynamic_batching:\n  max_queue_delay_us: 500\n"
                                 "  preferred_batch_sizes: [8, 16]\n  max_queue_size: 100\n  default_timeout_us: 2000\n",
                                 "m/model.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_TRUE(config->dynamic_batching.enabled);
  EXPECT_EQ(config->dynamic_batching.max_queue_delay_us, 500);
  EXPECT_EQ(config->dynamic_batching.preferred_batch_sizes, (std::vector<std::int64_t>{8, 16}));
  EXPECT_EQ(config->dynamic_batching.max_queue_size, 100);
  EXPECT_EQ(config->dynamic_batching.default_timeout_us, 2000);
  auto defaults = ParseModelConfig("max_batch_size: 4\ndynamic_batching:\n", "m/model.yaml");
  ASSERT_TRUE(defaults.has_value()) << defaults.error().message;
  EXPECT_TRUE(defaults->dynamic_batching.enabled);
  EXPECT_EQ(defaults->dynamic_batching.max_queue_delay_us, 0);
  EXPECT_FALSE(ParseModelConfig("max_batch_size: 4\n", "m").value().dynamic_batching.enabled);
  ExpectError("dynamic_batching: {}\n", "dynamic_batching needs max_batch_size > 0");
  ExpectError("max_batch_size: 4\ndynamic_batching: {preferred_batch_sizes: [8]}\n",
              "preferred batch size 8 exceeds max_batch_size 4");
  ExpectError("max_batch_size: 4\ndynamic_batching: {max_queue_delay: 5}\n", "unknown key 'max_queue_delay'");
  ExpectError("max_batch_size: 4\ndynamic_batching: {max_queue_size: 0}\n", "max_queue_size must be at least 1");
}

TEST(ModelConfig, Warmup) {
  auto config = ParseModelConfig("warmup:\n  - {batch_size: 4, count: 2, fill: random}\n  - {request: warmup/a.json}\n",
                                 "m/model.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->warmup.size(), 2u);
  EXPECT_EQ(config->warmup[0].batch_size, 4);
  EXPECT_EQ(config->warmup[0].count, 2);
  EXPECT_TRUE(config->warmup[0].random);
  EXPECT_EQ(config->warmup[1].request_file, "warmup/a.json");
  ExpectError("warmup: [{request: ../../etc/passwd}]\n", "relative path inside the model folder");
  ExpectError("warmup: [{request: /etc/passwd}]\n", "relative path inside the model folder");
  ExpectError("warmup: [{fill: ones}]\n", "warmup fill must be zero or random");
  ExpectError("warmup: [{batch_size: 0}]\n", "warmup batch_size must be at least 1");
  ExpectError("warmup: {batch_size: 1}\n", "'warmup' must be a list");
  // Keys that are lists or maps (found by fuzz_model_config: they used to throw).
  ExpectError("? [a, b]\n: 1\n", "the keys of model.yaml must be names");
  ExpectError("inputs: [{? {x: 1} : 2}]\n", "the keys of inputs must be names");
  ExpectError("parameters: {? [p] : 1}\n", "the keys of 'parameters' must be names");
}

TEST(VersionPolicy, Selects) {
  const std::vector<std::int64_t> present = {1, 2, 5};
  VersionPolicy latest;
  EXPECT_EQ(latest.Select(present), (std::vector<std::int64_t>{5}));
  latest.latest = 2;
  EXPECT_EQ(latest.Select(present), (std::vector<std::int64_t>{2, 5}));
  latest.latest = 9;
  EXPECT_EQ(latest.Select(present), present);
  VersionPolicy all{.kind = VersionPolicy::Kind::kAll};
  EXPECT_EQ(all.Select(present), present);
  VersionPolicy specific{.kind = VersionPolicy::Kind::kSpecific, .latest = 1, .versions = {1, 3, 5}};
  EXPECT_EQ(specific.Select(present), (std::vector<std::int64_t>{1, 5}));
  EXPECT_TRUE(latest.Select({}).empty());
}

TEST(VersionPolicy, ParsesEveryForm) {
  auto all = ParseModelConfig("version_policy: all\n", "m");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->version_policy.kind, VersionPolicy::Kind::kAll);
  auto specific = ParseModelConfig("version_policy: {specific: [3, 1]}\n", "m");
  ASSERT_TRUE(specific.has_value());
  EXPECT_EQ(specific->version_policy.versions, (std::vector<std::int64_t>{1, 3}));
}

}  // namespace
}  // namespace ferry::model
