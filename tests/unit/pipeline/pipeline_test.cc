// Unit tests of the pipeline engine: every step kind with its edge cases, run through Pipeline
// with a ModelInvoker whose "models" are small C++ functions (the integration tests run real
// models behind the real server).
#include "pipeline/pipeline.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <future>
#include <thread>

namespace ferry::pipeline {
namespace {

using core::DataType;
using core::Shape;

// "sum": x FP32 [N, k] -> y FP32 [N, 1], the row sums. "scores": x [N, k] -> s FP32 [N, k], x
// itself. "broken": always fails with UNAVAILABLE. max_batch_size 4, so that batches split.
class TestInvoker final : public ModelInvoker {
 public:
  core::Result<ModelInfo> Describe(std::string_view model, std::int64_t) const override {
    if (model == "sum") {
      return ModelInfo{4, {{{"x", DataType::kFp32, Shape{-1, -1}}}, {{"y", DataType::kFp32, Shape{-1, 1}}}}};
    }
    if (model == "scores") {
      return ModelInfo{4, {{{"x", DataType::kFp32, Shape{-1, -1}}}, {{"s", DataType::kFp32, Shape{-1, -1}}}}};
    }
    if (model == "broken") {
      return ModelInfo{4, {{{"x", DataType::kFp32, Shape{-1, -1}}}, {{"y", DataType::kFp32, Shape{-1, 1}}}}};
    }
    return core::NotFound(fmt::format("unknown model '{}'", model));
  }

  void Infer(core::InferenceRequest&& request, InferDone done) override {
    ++calls;
    max_rows = std::max<std::int64_t>(max_rows, request.inputs[0].shape()[0]);
    if (request.model_name == "broken") return done(core::Unavailable("queue full"));
    const core::Tensor& x = request.inputs[0];
    const auto rows = x.shape()[0], width = x.shape()[1];
    core::InferenceResponse response;
    if (request.model_name == "sum") {
      auto y = core::Tensor::Allocate("y", DataType::kFp32, Shape{rows, 1}).value();
      for (std::int64_t r = 0; r < rows; ++r) {
        float sum = 0;
        for (std::int64_t k = 0; k < width; ++k) sum += x.values<float>()[r * width + k];
        y.values<float>()[r] = sum;
      }
      response.outputs.push_back(std::move(y));
    } else {
      response.outputs.push_back(core::Tensor::FromRaw("s", DataType::kFp32, x.shape(), x.bytes()).value());
    }
    if (async) {
      std::thread([done = std::move(done), response = std::move(response)]() mutable { done(std::move(response)); })
          .detach();
    } else {
      done(std::move(response));
    }
  }

  int calls = 0;
  std::int64_t max_rows = 0;
  bool async = false;
};

std::shared_ptr<const Pipeline> MustParse(const std::string& steps) {
  auto p = Pipeline::Parse("pipeline:\n" + steps, "p/model.yaml", "p");
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
  return p ? *p : nullptr;
}

void ExpectParseError(const std::string& steps, std::string_view fragment) {
  auto p = Pipeline::Parse("pipeline:\n" + steps, "p/model.yaml", "p");
  ASSERT_FALSE(p.has_value()) << steps;
  EXPECT_NE(p.error().message.find(fragment), std::string::npos) << p.error().message;
}

Record R(std::initializer_list<std::pair<std::string, Value>> fields) {
  Record r;
  for (const auto& [name, value] : fields) r.fields.push_back({name, value});
  return r;
}

Value N(double d) { return Value::Number(d); }
Value S(std::string s) { return Value::String(std::move(s)); }

Frame RunRecords(const Pipeline& p, std::vector<Record> records, TestInvoker* invoker = nullptr) {
  TestInvoker local;
  if (!invoker) invoker = &local;
  std::promise<core::Result<Frame>> result;
  p.Run(Frame::FromRecords(std::move(records)), *invoker, [&](core::Result<Frame> f) { result.set_value(std::move(f)); });
  auto frame = result.get_future().get();
  EXPECT_TRUE(frame.has_value()) << (frame ? "" : frame.error().message);
  return frame ? std::move(*frame) : Frame{};
}

std::string Answer(const Pipeline& p, const Frame& f, std::size_t row) {
  std::string out;
  core::JsonWriter w(out);
  Pipeline::AnswerWriter(p, f).Write(row, w);
  return out;
}

void ExpectRejected(const Frame& f, std::size_t row, std::string_view step, std::string_view fragment) {
  ASSERT_LT(row, f.rows);
  EXPECT_EQ(f.status[row].state, RowStatus::State::kRejected) << "row " << row;
  EXPECT_EQ(f.status[row].step, step);
  EXPECT_NE(f.status[row].error.find(fragment), std::string::npos) << f.status[row].error;
}

const std::string kRecordAB = "  - {name: in, kind: record, fields: {a: number, b: number}}\n";

TEST(PipelineParse, RefusesWhatCannotWork) {
  ExpectParseError("  - {name: x, kind: nonsense}\n", "unknown kind 'nonsense'");
  ExpectParseError("  - {name: x}\n", "needs a 'kind'");
  ExpectParseError(kRecordAB + "  - {name: l, kind: log1p, field: c}\n", "'c' is not defined by an earlier step");
  ExpectParseError(kRecordAB + "  - {name: l, kind: log1p, field: a}\n  - {name: l, kind: log1p, field: b}\n",
                   "two steps are named 'l'");
  ExpectParseError(kRecordAB + "  - {kind: respond, fields: [a]}\n  - {kind: log1p, field: a}\n",
                   "after the respond step");
  ExpectParseError("  - {kind: log1p, field: a}\n" + kRecordAB, "not defined");
  ExpectParseError(kRecordAB + "  - {name: t, kind: tensor, output: x, datatype: BYTES, fields: [a]}\n",
                   "'datatype' must be FP32");
  ExpectParseError(kRecordAB + "  - {name: t, kind: tensor, output: x, fields: [a]}\n  - {kind: model, model: p}\n",
                   "cannot run itself");
  ExpectParseError("  - {name: in, kind: record, fields: {s: string}}\n  - {kind: validate, rules: [{field: s, min: 0}]}\n",
                   "'min'/'max' need a number field");
  ExpectParseError(kRecordAB + "  - {name: s, kind: standardize, field: a, mean: 1, std: 0}\n", "'std' must be above 0");
  ExpectParseError(kRecordAB + "  - {name: s, kind: standardize, field: a, mean: 1, std: 1, bogus: 2}\n",
                   "unknown key 'bogus'");
  ExpectParseError(kRecordAB + "  - {name: b, kind: bucketize, field: a, boundaries: [3, 1]}\n", "increasing");
  ExpectParseError("  - {name: in, kind: record, fields: {a: {type: number, default: x}}}\n", "default must be a number");
  // The line of the step is named.
  ExpectParseError(kRecordAB + "  - {name: l, kind: log1p, field: zz}\n", "p/model.yaml:3: step 'l' (log1p)");
}

TEST(PipelineRecord, TypesDefaultsAndMissingFields) {
  auto p = MustParse(
      "  - name: in\n    kind: record\n    fields:\n"
      "      n: number\n      i: integer\n      s: {type: string, default: dflt}\n"
      "      o: {type: number, required: false}\n      b: boolean\n      v: {type: array, width: 2}\n"
      "  - {kind: respond, fields: [n, i, s, o, b, v]}\n");
  Value vec{.kind = Value::Kind::kArray, .array = {1, 2}};
  Value short_vec{.kind = Value::Kind::kArray, .array = {1}};
  auto f = RunRecords(*p, {
                       R({{"n", N(1.5)}, {"i", N(2)}, {"b", Value::Bool(true)}, {"v", vec}, {"extra", S("ignored")}}),
                       R({{"i", N(2)}, {"b", Value::Bool(true)}, {"v", vec}}),                  // n missing
                       R({{"n", S("1")}, {"i", N(2)}, {"b", Value::Bool(true)}, {"v", vec}}),   // wrong type
                       R({{"n", N(1)}, {"i", N(2.5)}, {"b", Value::Bool(true)}, {"v", vec}}),   // not an integer
                       R({{"n", Value::Null()}, {"i", N(2)}, {"b", Value::Bool(true)}, {"v", vec}}),  // null = missing
                       R({{"n", N(1)}, {"i", N(2)}, {"b", Value::Bool(true)}, {"v", short_vec}}),
                       R({{"n", N(1)}, {"i", N(2)}, {"b", N(1)}, {"v", vec}, {"s", S("given")}, {"o", N(7)}}),
                       R({{"n", N(1)}, {"i", N(2)}, {"b", Value::Bool(false)}, {"v", vec}, {"s", S("given")}, {"o", N(7)}}),
                   });
  EXPECT_EQ(Answer(*p, f, 0), R"({"n":1.5,"i":2,"s":"dflt","o":null,"b":true,"v":[1,2]})");
  ExpectRejected(f, 1, "in", "field 'n' is missing");
  ExpectRejected(f, 2, "in", "field 'n' must be a number, got a string");
  ExpectRejected(f, 3, "in", "field 'i' must be an integer, got 2.5");
  ExpectRejected(f, 4, "in", "field 'n' is missing");
  ExpectRejected(f, 5, "in", "field 'v' must hold 2 numbers, got 1");
  ExpectRejected(f, 6, "in", "field 'b' must be a boolean, got a number");
  EXPECT_EQ(Answer(*p, f, 7), R"({"n":1,"i":2,"s":"given","o":7,"b":false,"v":[1,2]})");
}

TEST(PipelineTransforms, ComputeWhatTheyName) {
  auto p = MustParse(kRecordAB +
                     "  - {name: z, kind: standardize, field: a, mean: 2, std: 4, output: za}\n"
                     "  - {name: mm, kind: minmax, field: a, min: 0, max: 10, output: ma}\n"
                     "  - {name: lg, kind: log1p, field: b, output: lb}\n"
                     "  - {name: cl, kind: clip, field: a, min: 0, max: 5, output: ca}\n"
                     "  - {name: bk, kind: bucketize, field: a, boundaries: [0, 5, 10], output: ba}\n"
                     "  - {name: th, kind: threshold, field: a, greater_than: 18, output: adult}\n"
                     "  - {kind: respond, fields: [za, ma, lb, ca, ba, adult]}\n");
  auto f = RunRecords(*p, {R({{"a", N(6)}, {"b", N(std::exp(2.0) - 1)}}), R({{"a", N(-3)}, {"b", N(-2)}}),
                    R({{"a", N(20)}, {"b", N(0)}}), R({{"a", N(10)}, {"b", N(-1)}})});
  EXPECT_EQ(Answer(*p, f, 0), R"({"za":1,"ma":0.6,"lb":2,"ca":5,"ba":2,"adult":false})");
  ExpectRejected(f, 1, "lg", "field 'b': log1p of -2 is not defined");
  EXPECT_EQ(Answer(*p, f, 2), R"({"za":4.5,"ma":2,"lb":0,"ca":5,"ba":3,"adult":true})");
  ExpectRejected(f, 3, "lg", "log1p of -1");
}

TEST(PipelineTransforms, ImputeOneHotAndMap) {
  auto p = MustParse(
      "  - {name: in, kind: record, fields: {x: {type: number, required: false}, c: string, d: string}}\n"
      "  - {name: fill, kind: impute, field: x, value: 3.5}\n"
      "  - {name: oh, kind: one_hot, field: c, values: [red, green]}\n"
      "  - {name: strict, kind: one_hot, field: d, values: [a, b], prefix: 'd=', unknown: reject}\n"
      "  - {name: m, kind: map, field: c, mapping: {red: 1, green: 2}, default: 0, output: cm}\n"
      "  - {name: m2, kind: map, field: d, mapping: {a: 10}, output: dm}\n"
      "  - {kind: respond, fields: [x, c_red, c_green, d=a, d=b, cm, dm]}\n");
  auto f = RunRecords(*p, {R({{"c", S("green")}, {"d", S("a")}}), R({{"x", N(1)}, {"c", S("blue")}, {"d", S("a")}}),
                    R({{"x", N(1)}, {"c", S("red")}, {"d", S("z")}}), R({{"x", N(1)}, {"c", S("red")}, {"d", S("b")}})});
  EXPECT_EQ(Answer(*p, f, 0), R"({"x":3.5,"c_red":false,"c_green":true,"d=a":true,"d=b":false,"cm":2,"dm":10})");
  EXPECT_EQ(Answer(*p, f, 1), R"({"x":1,"c_red":false,"c_green":false,"d=a":true,"d=b":false,"cm":0,"dm":10})");
  ExpectRejected(f, 2, "strict", "field 'd': 'z' is not one of [a, b]");
  ExpectRejected(f, 3, "m2", "field 'd': 'b' is not one of the mapped values [a]");
}

TEST(PipelineValidate, RulesNameTheFieldAndTheStep) {
  auto p = MustParse(
      "  - {name: in, kind: record, fields: {a: number, s: string, o: {type: number, required: false}}}\n"
      "  - {name: lg, kind: log1p, field: a, output: la}\n"
      "  - name: check\n    kind: validate\n    rules:\n"
      "      - {field: a, min: 0, max: 100}\n      - {field: s, allowed: [x, y]}\n"
      "      - {field: o, required: true}\n"
      "  - {kind: respond, fields: [a]}\n");
  auto f = RunRecords(*p, {R({{"a", N(5)}, {"s", S("x")}, {"o", N(1)}}), R({{"a", N(500)}, {"s", S("x")}, {"o", N(1)}}),
                    R({{"a", N(-0.5)}, {"s", S("x")}, {"o", N(1)}}), R({{"a", N(5)}, {"s", S("q")}, {"o", N(1)}}),
                    R({{"a", N(5)}, {"s", S("x")}}), R({{"a", N(std::nan(""))}, {"s", S("x")}, {"o", N(1)}})});
  EXPECT_EQ(f.status[0].state, RowStatus::State::kLive);
  // A NaN (JSON cannot carry one, other encodings can) never passes a range rule.
  ExpectRejected(f, 5, "check", "field 'a' is not a number");
  ExpectRejected(f, 1, "check", "field 'a': 500 is above the maximum 100");
  ExpectRejected(f, 2, "check", "field 'a': -0.5 is below the minimum 0");
  ExpectRejected(f, 3, "check", "field 's': 'q' is not one of the allowed values [x, y]");
  ExpectRejected(f, 4, "check", "field 'o' is missing");
}

TEST(PipelineFilter, SkipsAndRejects) {
  auto p = MustParse(kRecordAB +
                     "  - {name: minors, kind: filter, field: a, less_than: 18}\n"
                     "  - {name: bad, kind: filter, field: b, equals: 0, action: reject, reason: 'b must not be 0'}\n"
                     "  - {kind: respond, fields: [a]}\n");
  auto f = RunRecords(*p, {R({{"a", N(10)}, {"b", N(1)}}), R({{"a", N(30)}, {"b", N(0)}}), R({{"a", N(30)}, {"b", N(2)}})});
  EXPECT_EQ(f.status[0].state, RowStatus::State::kSkipped);
  EXPECT_EQ(f.status[0].step, "minors");
  ExpectRejected(f, 1, "bad", "b must not be 0");
  EXPECT_EQ(Answer(*p, f, 2), R"({"a":30})");
}

const std::string kSumPipeline = kRecordAB +
                                 "  - {name: t, kind: tensor, output: x, fields: [a, b]}\n"
                                 "  - {name: m, kind: model, model: sum}\n";

TEST(PipelineModel, SendsOnlyLiveRowsInBatchesAndPutsAnswersBackInOrder) {
  auto p = MustParse(kSumPipeline);
  TestInvoker invoker;
  invoker.async = true;
  std::vector<Record> records;
  for (int i = 0; i < 10; ++i) records.push_back(i == 3 ? R({{"a", N(i)}}) : R({{"a", N(i)}, {"b", N(100)}}));
  auto f = RunRecords(*p, std::move(records), &invoker);
  EXPECT_EQ(invoker.calls, 3);  // 9 live rows, at most 4 a request
  EXPECT_EQ(invoker.max_rows, 4);
  ExpectRejected(f, 3, "in", "field 'b' is missing");
  for (int i = 0; i < 10; ++i) {
    if (i != 3) {
      EXPECT_EQ(Answer(*p, f, i), fmt::format(R"({{"y":{}}})", 100 + i)) << i;
    }
  }
}

TEST(PipelineModel, AModelErrorFailsTheBatchNamingTheStep) {
  auto p = MustParse(kRecordAB + "  - {name: t, kind: tensor, output: x, fields: [a, b]}\n"
                                 "  - {name: m, kind: model, model: broken}\n");
  TestInvoker invoker;
  std::promise<core::Result<Frame>> result;
  p->Run(Frame::FromRecords({R({{"a", N(1)}, {"b", N(2)}})}), invoker,
         [&](core::Result<Frame> f) { result.set_value(std::move(f)); });
  auto f = result.get_future().get();
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(f.error().message, "step 'm' (model 'broken'): queue full");
}

TEST(PipelineModel, NothingLiveMeansNoModelCall) {
  auto p = MustParse(kSumPipeline);
  TestInvoker invoker;
  auto f = RunRecords(*p, {R({{"a", N(1)}})}, &invoker);
  EXPECT_EQ(invoker.calls, 0);
  ExpectRejected(f, 0, "in", "missing");
  auto empty = RunRecords(*p, {}, &invoker);
  EXPECT_EQ(empty.rows, 0u);
  EXPECT_EQ(invoker.calls, 0);
}

TEST(PipelinePost, LabelArgmaxSoftmaxTopKRenameSelect) {
  auto p = MustParse(kRecordAB +
                     "  - {name: t, kind: tensor, output: x, fields: [a, b]}\n"
                     "  - {name: m, kind: model, model: scores, outputs: [s]}\n"
                     "  - {name: lab, kind: label, input: s, threshold: 0.5, labels: [no, yes], output: l}\n"
                     "  - {name: am, kind: argmax, input: s, classes: [cat, dog], output: cls}\n"
                     "  - {name: sm, kind: softmax, input: s, output: p}\n"
                     "  - {name: top, kind: top_k, input: s, k: 1, classes: [cat, dog], output: best}\n"
                     "  - {name: rn, kind: rename, mapping: {cls: animal}}\n"
                     "  - {name: sel, kind: select, fields: [animal, p, best]}\n");
  // label needs one value a record: the scores model gives two, so that step fails the batch.
  TestInvoker invoker;
  std::promise<core::Result<Frame>> result;
  p->Run(Frame::FromRecords({R({{"a", N(1)}, {"b", N(3)}})}), invoker,
         [&](core::Result<Frame> f) { result.set_value(std::move(f)); });
  auto failed = result.get_future().get();
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message.find("step 'lab': 's' has 2 values a record; label needs one"), std::string::npos);

  auto q = MustParse(kRecordAB +
                     "  - {name: t, kind: tensor, output: x, fields: [a, b]}\n"
                     "  - {name: m, kind: model, model: scores, outputs: [s]}\n"
                     "  - {name: am, kind: argmax, input: s, classes: [cat, dog], output: cls}\n"
                     "  - {name: sm, kind: softmax, input: s, output: p}\n"
                     "  - {name: top, kind: top_k, input: s, k: 1, classes: [cat, dog], output: best}\n"
                     "  - {name: rn, kind: rename, mapping: {cls: animal}}\n"
                     "  - {name: sel, kind: select, fields: [animal, p, best]}\n");
  auto f = RunRecords(*q, {R({{"a", N(1)}, {"b", N(3)}}), R({{"a", N(5)}, {"b", N(1)}})});
  // Default answer after select: what is left, by name.
  EXPECT_TRUE(Answer(*q, f, 0).starts_with(R"({"animal":"dog","best":[{"class":"dog","score":3}],"p":[0.11920)"))
      << Answer(*q, f, 0);
  const Column& p_column = f.columns.at("p");
  EXPECT_NEAR(p_column.numbers[0], 1 / (1 + std::exp(2.0)), 1e-9);
  EXPECT_NEAR(p_column.numbers[0] + p_column.numbers[1], 1.0, 1e-12);
  EXPECT_EQ(Answer(*q, f, 1).substr(0, 16), R"({"animal":"cat",)");

  auto label = MustParse(kSumPipeline +
                         "  - {name: lab, kind: label, input: y, threshold: 5, labels: [low, high], output: l}\n"
                         "  - {kind: respond, fields: {total: y, level: l}}\n");
  auto g = RunRecords(*label, {R({{"a", N(1)}, {"b", N(3)}}), R({{"a", N(3)}, {"b", N(3)}})});
  EXPECT_EQ(Answer(*label, g, 0), R"({"total":4,"level":"low"})");
  EXPECT_EQ(Answer(*label, g, 1), R"({"total":6,"level":"high"})");
}

TEST(PipelineTensors, EnterAfterTheTensorStepsAndAnswerWithTensors) {
  auto p = MustParse(kSumPipeline + "  - {name: lab, kind: label, input: y, threshold: 5, labels: [low, high], output: l}\n"
                                    "  - {kind: respond, fields: [y, l]}\n");
  ASSERT_EQ(p->input_tensors().size(), 1u);
  EXPECT_EQ(p->input_tensors()[0].name, "x");
  EXPECT_EQ(p->input_tensors()[0].shape.ToString(), "[-1, 2]");
  EXPECT_TRUE(p->tensor_entry_error().empty());
  auto x = core::Tensor::Allocate("x", DataType::kFp32, Shape{2, 2}).value();
  const float data[] = {1, 2, 3, 4};
  std::memcpy(x.bytes().data(), data, sizeof data);
  std::vector<core::Tensor> inputs;
  inputs.push_back(std::move(x));
  TestInvoker invoker;
  std::promise<core::Result<Frame>> result;
  p->RunTensors(Frame::FromTensors(std::move(inputs)).value(), invoker,
                [&](core::Result<Frame> f) { result.set_value(std::move(f)); });
  auto f = result.get_future().get();
  ASSERT_TRUE(f.has_value()) << f.error().message;
  auto tensors = p->AnswerTensors(*f);
  ASSERT_TRUE(tensors.has_value());
  ASSERT_EQ(tensors->size(), 2u);
  EXPECT_EQ((*tensors)[0].values<float>()[1], 7.0f);
  EXPECT_EQ((*tensors)[1].type(), DataType::kBytes);
  EXPECT_EQ((*tensors)[1].shape().ToString(), "[2]");

  // An answer that includes a record field cannot come from tensors.
  auto q = MustParse(kSumPipeline + "  - {kind: respond, fields: [y, a]}\n");
  EXPECT_NE(q->tensor_entry_error().find("record field 'a'"), std::string::npos);
}

TEST(PipelineScale, TenThousandRecordsInOneCall) {
  auto p = MustParse(kSumPipeline);
  std::vector<Record> records;
  for (int i = 0; i < 10000; ++i) records.push_back(R({{"a", N(i)}, {"b", N(0.5)}}));
  TestInvoker invoker;
  auto f = RunRecords(*p, std::move(records), &invoker);
  ASSERT_EQ(f.rows, 10000u);
  EXPECT_EQ(invoker.calls, 2500);
  EXPECT_EQ(f.LiveCount(), 10000u);
  EXPECT_EQ(Answer(*p, f, 9999), R"({"y":9999.5})");
}

}  // namespace
}  // namespace ferry::pipeline
