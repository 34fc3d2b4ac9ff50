// ferry's PMML evaluator: documents compiled and evaluated, answers computed by hand here.
#include "backends/pmml/pmml_model.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace ferry::backends::pmml {
namespace {

// A logistic regression on the Pima features with a derived log1p(mass), in the style of the
// JPMML exports of the Contentsquare "Machine Learning in Production" article (its intercept;
// the other coefficients are this test's own). The probability of "1" is the logit of the table
// of category 1; category 0 takes the rest.
constexpr const char* kPimaLogit = R"PMML(<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <Header><Application name="JPMML-SkLearn" version="1.6"/></Header>
  <DataDictionary>
    <DataField name="class" optype="categorical" dataType="integer"><Value value="0"/><Value value="1"/></DataField>
    <DataField name="preg" optype="continuous" dataType="double"/>
    <DataField name="plas" optype="continuous" dataType="double"/>
    <DataField name="mass" optype="continuous" dataType="double"/>
    <DataField name="pedi" optype="continuous" dataType="double"/>
    <DataField name="age" optype="continuous" dataType="double"/>
  </DataDictionary>
  <TransformationDictionary>
    <DerivedField name="log1p(mass)" optype="continuous" dataType="double">
      <Apply function="x-ln1p"><FieldRef field="mass"/></Apply>
    </DerivedField>
  </TransformationDictionary>
  <RegressionModel functionName="classification" normalizationMethod="logit">
    <MiningSchema>
      <MiningField name="class" usageType="target"/>
      <MiningField name="preg"/>
      <MiningField name="plas"/>
      <MiningField name="mass" missingValueReplacement="32.0"/>
      <MiningField name="pedi"/>
      <MiningField name="age"/>
    </MiningSchema>
    <Output>
      <OutputField name="probability(1)" optype="continuous" dataType="double" feature="probability" value="1"/>
    </Output>
    <RegressionTable intercept="-3.3259427586269217" targetCategory="1">
      <NumericPredictor name="preg" coefficient="0.12"/>
      <NumericPredictor name="plas" coefficient="0.035"/>
      <NumericPredictor name="log1p(mass)" coefficient="-1.5"/>
      <NumericPredictor name="pedi" coefficient="0.9"/>
      <NumericPredictor name="age" coefficient="0.015"/>
    </RegressionTable>
    <RegressionTable intercept="0.0" targetCategory="0"/>
  </RegressionModel>
</PMML>
)PMML";

std::vector<std::string> Names(const std::vector<CompiledPmml::Input>& inputs) {
  std::vector<std::string> names;
  for (const auto& in : inputs) names.push_back(in.name);
  return names;
}

double PimaByHand(double preg, double plas, double mass, double pedi, double age) {
  const double z = -3.3259427586269217 + 0.12 * preg + 0.035 * plas - 1.5 * std::log1p(mass) + 0.9 * pedi + 0.015 * age;
  return 1 / (1 + std::exp(-z));
}

TEST(Pmml, TheLogisticRegressionWithLog1pGivesTheProbabilityComputedByHand) {
  auto model = CompiledPmml::Compile(kPimaLogit, "pima.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ(Names((*model)->inputs()), (std::vector<std::string>{"preg", "plas", "mass", "pedi", "age"}));
  ASSERT_TRUE((*model)->classification());
  // The target's Values order the columns; the Output field probability(1) follows them.
  EXPECT_EQ((*model)->categories(), (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ((*model)->outputs().size(), 1u);
  EXPECT_EQ((*model)->outputs()[0].name, "probability(1)");
  ASSERT_EQ((*model)->width(), 4u);  // two probabilities, the predicted category, probability(1)
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rows[] = {6, 148, 33.6, 0.627, 50,  //
                         1, 85, nan, 0.351, 31};   // mass missing: replaced by 32
  double out[8];
  ASSERT_TRUE((*model)->Evaluate(rows, 2, out).has_value());
  EXPECT_NEAR(out[1], PimaByHand(6, 148, 33.6, 0.627, 50), 1e-12);
  EXPECT_NEAR(out[0], 1 - out[1], 1e-12);
  EXPECT_EQ(out[2], out[1] > out[0] ? 1.0 : 0.0);
  EXPECT_EQ(out[3], out[1]);
  EXPECT_NEAR(out[5], PimaByHand(1, 85, 32.0, 0.351, 31), 1e-12);
}

TEST(Pmml, RegressionWithNormContinuousAndFunctions) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
    <DataField name="t" optype="continuous" dataType="double"/></DataDictionary>
  <TransformationDictionary>
    <DerivedField name="nx"><NormContinuous field="x"><LinearNorm orig="0" norm="0"/><LinearNorm orig="10" norm="1"/></NormContinuous></DerivedField>
    <DerivedField name="big"><Apply function="if"><Apply function="greaterThan"><FieldRef field="y"/><Constant>5</Constant></Apply><Constant>1</Constant><Constant>0</Constant></Apply></DerivedField>
    <DerivedField name="p"><Apply function="pow"><FieldRef field="y"/><Constant>2</Constant></Apply></DerivedField>
  </TransformationDictionary>
  <RegressionModel functionName="regression" normalizationMethod="exp">
    <MiningSchema><MiningField name="x"/><MiningField name="y"/><MiningField name="t" usageType="predicted"/></MiningSchema>
    <RegressionTable intercept="0.5">
      <NumericPredictor name="nx" coefficient="2"/><NumericPredictor name="big" coefficient="1"/>
      <NumericPredictor name="p" coefficient="0.1"/><NumericPredictor name="y" coefficient="0.3" exponent="2"/>
    </RegressionTable></RegressionModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "r.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_FALSE((*model)->classification());
  const double rows[] = {5, 6, 15, 1};
  double out[2];
  ASSERT_TRUE((*model)->Evaluate(rows, 2, out).has_value());
  EXPECT_NEAR(out[0], std::exp(0.5 + 2 * 0.5 + 1 + 0.1 * 36 + 0.3 * 36), 1e-9);
  EXPECT_NEAR(out[1], std::exp(0.5 + 2 * 1.5 + 0 + 0.1 * 1 + 0.3 * 1), 1e-9);  // extrapolated past orig 10
}

TEST(Pmml, SoftmaxClassification) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/></DataDictionary>
  <RegressionModel functionName="classification" normalizationMethod="softmax">
    <MiningSchema><MiningField name="x"/></MiningSchema>
    <RegressionTable intercept="1" targetCategory="a"><NumericPredictor name="x" coefficient="1"/></RegressionTable>
    <RegressionTable intercept="0" targetCategory="b"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
    <RegressionTable intercept="0" targetCategory="c"/></RegressionModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "s.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const double x[] = {1};
  double p[4];  // three probabilities, the predicted category
  ASSERT_TRUE((*model)->Evaluate(x, 1, p).has_value());
  const double sum = std::exp(2.0) + std::exp(2.0) + std::exp(0.0);
  EXPECT_NEAR(p[0], std::exp(2.0) / sum, 1e-12);
  EXPECT_NEAR(p[2], 1 / sum, 1e-12);
}

TEST(Pmml, ClassificationTreeWithPredicatesDistributionsAndMissingValues) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous"/><DataField name="c" optype="categorical"><Value value="1"/><Value value="2"/><Value value="3"/></DataField>
    <DataField name="y" optype="categorical"><Value value="no"/><Value value="yes"/></DataField></DataDictionary>
  <TreeModel functionName="classification" missingValueStrategy="defaultChild">
    <MiningSchema><MiningField name="x"/><MiningField name="c"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Node score="no"><True/>
      <Node id="low" score="no"><SimplePredicate field="x" operator="lessThan" value="5"/>
        <ScoreDistribution value="no" recordCount="30"/><ScoreDistribution value="yes" recordCount="10"/></Node>
      <Node id="high" score="yes" defaultChild="set"><SimplePredicate field="x" operator="greaterOrEqual" value="5"/>
        <Node id="set" score="yes"><SimpleSetPredicate field="c" booleanOperator="isIn"><Array n="2" type="int">1 3</Array></SimpleSetPredicate></Node>
        <Node score="no"><CompoundPredicate booleanOperator="and"><SimplePredicate field="c" operator="equal" value="2"/><SimplePredicate field="x" operator="lessThan" value="100"/></CompoundPredicate></Node>
      </Node>
    </Node></TreeModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "tree.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->categories(), (std::vector<std::string>{"no", "yes"}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rows[] = {1, 1,     // x < 5: the distribution 30/10
                         7, 3,     // x >= 5, c in {1, 3}: yes
                         7, 2,     // x >= 5, c == 2 and x < 100: no
                         7, nan,   // c missing: the defaultChild, "set": yes
                         200, 2};  // no child true: null prediction
  double p[15];  // a row: P(no), P(yes), the predicted category
  ASSERT_TRUE((*model)->Evaluate(rows, 5, p).has_value());
  EXPECT_DOUBLE_EQ(p[0], 0.75);
  EXPECT_DOUBLE_EQ(p[1], 0.25);
  EXPECT_EQ(p[3], 0.0);
  EXPECT_EQ(p[4], 1.0);
  EXPECT_EQ(p[6], 1.0);
  EXPECT_EQ(p[7], 0.0);
  EXPECT_EQ(p[10], 1.0);
  EXPECT_TRUE(std::isnan(p[12]));
  EXPECT_TRUE(std::isnan(p[14]));
}

// PMML 4.4, TreeModel: a Node's `score` is its prediction; the ScoreDistribution gives the
// probabilities. On a tie the score decides (not the first category with the highest
// probability), for the prediction, a predictedValue output and a probability output alike.
TEST(Pmml, ATreeLeafsScoreIsThePredictionWhenItsDistributionTies) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="no"/><Value value="yes"/></DataField>
  </DataDictionary>
  <TreeModel functionName="classification"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output><OutputField name="decision" feature="predictedValue"/><OutputField name="confidence" feature="probability"/></Output>
    <Node score="no"><True/>
      <Node score="yes"><SimplePredicate field="x" operator="lessThan" value="5"/>
        <ScoreDistribution value="no" recordCount="5"/><ScoreDistribution value="yes" recordCount="5"/></Node>
      <Node score="no"><True/>
        <ScoreDistribution value="no" recordCount="7"/><ScoreDistribution value="yes" recordCount="7"/></Node>
    </Node></TreeModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "tie.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  ASSERT_EQ((*model)->width(), 5u);  // P(no), P(yes), the predicted category, decision, confidence
  ASSERT_TRUE((*model)->outputs()[0].is_category);
  const double rows[] = {1, 9};
  double out[10];
  ASSERT_TRUE((*model)->Evaluate(rows, 2, out).has_value());
  EXPECT_EQ(out[0], 0.5);
  EXPECT_EQ(out[1], 0.5);
  EXPECT_EQ(out[2], 1.0);  // "yes", the leaf's score, though "no" comes first
  EXPECT_EQ(out[3], 1.0);
  EXPECT_EQ(out[4], 0.5);
  EXPECT_EQ(out[7], 0.0);  // "no"
  EXPECT_EQ(out[8], 0.0);
}

// A Segment's model with its own MiningSchema: its missingValueReplacement and outlier treatment
// apply inside that segment only (the next segment sees the row's own value).
TEST(Pmml, ASegmentsOwnMiningSchemaTreatsItsInputsForItAlone) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/></DataDictionary>
  <MiningModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
    <Segmentation multipleModelMethod="sum">
      <Segment><True/><RegressionModel functionName="regression">
        <MiningSchema><MiningField name="x" missingValueReplacement="10" outliers="asExtremeValues" lowValue="0" highValue="100"/></MiningSchema>
        <RegressionTable intercept="0"><NumericPredictor name="x" coefficient="1"/></RegressionTable></RegressionModel></Segment>
      <Segment><True/><TreeModel functionName="regression">
        <MiningSchema><MiningField name="x" missingValueReplacement="-7"/></MiningSchema>
        <Node><True/><Node score="1000"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
          <Node score="2000"><SimplePredicate field="x" operator="greaterOrEqual" value="0"/></Node></Node></TreeModel></Segment>
      <Segment><True/><RegressionModel functionName="regression">
        <MiningSchema><MiningField name="x"/></MiningSchema>
        <RegressionTable intercept="0.5"><NumericPredictor name="x" coefficient="0"/></RegressionTable></RegressionModel></Segment>
    </Segmentation></MiningModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "segments.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const double rows[] = {std::numeric_limits<double>::quiet_NaN(), 500, 5};
  double out[3];
  ASSERT_TRUE((*model)->Evaluate(rows, 3, out).has_value());
  // Missing: 10 in the first segment, -7 in the second; the third sees the row's missing value
  // (its schema replaces nothing), has no prediction and is left out of the sum.
  EXPECT_EQ(out[0], 10 + 1000);
  EXPECT_EQ(out[1], 100 + 2000 + 0.5);  // 500 clamped to 100 in the first segment only
  EXPECT_EQ(out[2], 5 + 2000 + 0.5);
}

// MapValues keyed by two fields, with namespaced table columns, as a string-valued output.
TEST(Pmml, MapValuesWithSeveralKeysAndNamespacedColumnsYieldsStrings) {
  constexpr const char* kDoc = R"(<PMML version="4.4" xmlns:data="http://jpmml.org/jpmml-model/InlineTable"><DataDictionary>
    <DataField name="a" optype="categorical" dataType="string"><Value value="x"/><Value value="y"/></DataField>
    <DataField name="b" optype="continuous" dataType="integer"/>
    <DataField name="t" optype="continuous" dataType="double"/></DataDictionary>
  <RegressionModel functionName="regression"><MiningSchema><MiningField name="a"/><MiningField name="b"/>
      <MiningField name="t" usageType="target"/></MiningSchema>
    <Output><OutputField name="grade" feature="transformedValue">
      <MapValues outputColumn="data:out" defaultValue="other" mapMissingTo="none">
        <FieldColumnPair field="a" column="data:a"/><FieldColumnPair field="b" column="data:b"/>
        <InlineTable><row><data:a>x</data:a><data:b>1</data:b><data:out>x1</data:out></row>
                     <row><data:a>y</data:a><data:b>1</data:b><data:out>y1</data:out></row>
                     <row><data:a>x</data:a><data:b>2</data:b><data:out>x2</data:out></row></InlineTable>
      </MapValues></OutputField></Output>
    <RegressionTable intercept="1"/></RegressionModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "map.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const auto& m = **model;
  ASSERT_EQ(m.outputs().size(), 1u);
  EXPECT_TRUE(m.outputs()[0].is_string);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rows[] = {m.Encode("x"), 2, m.Encode("y"), 1, m.Encode("y"), 2, nan, 1};
  double out[8];
  ASSERT_TRUE(m.Evaluate(rows, 4, out).has_value());
  EXPECT_EQ(m.Decode(out[1]), "x2");
  EXPECT_EQ(m.Decode(out[3]), "y1");
  EXPECT_EQ(m.Decode(out[5]), "other");
  EXPECT_EQ(m.Decode(out[7]), "none");
}

TEST(Pmml, RegressionTreeReturnsTheLastPredictionWhenNoChildIsTrue) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
  <TreeModel functionName="regression" noTrueChildStrategy="returnLastPrediction" missingValueStrategy="lastPrediction">
    <MiningSchema><MiningField name="x"/></MiningSchema>
    <Node score="1.5"><True/>
      <Node score="10"><SimplePredicate field="x" operator="greaterThan" value="0"/>
        <Node score="20"><SimplePredicate field="x" operator="greaterThan" value="10"/></Node></Node>
    </Node></TreeModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "r.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const double x[] = {-1, 5, 50, std::numeric_limits<double>::quiet_NaN()};
  double y[4];
  ASSERT_TRUE((*model)->Evaluate(x, 4, y).has_value());
  EXPECT_EQ(y[0], 1.5);
  EXPECT_EQ(y[1], 10);
  EXPECT_EQ(y[2], 20);
  EXPECT_EQ(y[3], 1.5);  // missing: lastPrediction
}

// A gradient-boosted classifier as JPMML writes XGBoost's: a model chain whose first segment
// sums trees into the margin (an output field, with the base score as rescaleConstant) and whose
// second turns it into probabilities.
TEST(Pmml, BoostedTreesChainedIntoALogisticRegression) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
  <DataField name="y" optype="categorical" dataType="integer"><Value value="0"/><Value value="1"/></DataField>
  <DataField name="x1" optype="continuous" dataType="float"/><DataField name="x2" optype="continuous" dataType="float"/></DataDictionary>
<MiningModel functionName="classification">
  <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x1"/><MiningField name="x2"/></MiningSchema>
  <Output><OutputField name="p1" feature="probability" value="1"/><OutputField name="decision" feature="predictedValue"/></Output>
  <Segmentation multipleModelMethod="modelChain">
    <Segment id="1"><True/>
      <MiningModel functionName="regression">
        <MiningSchema><MiningField name="x1"/><MiningField name="x2"/></MiningSchema>
        <Output><OutputField name="xgbValue" optype="continuous" dataType="float" isFinalResult="false"/></Output>
        <Targets><Target rescaleConstant="-0.5"/></Targets>
        <Segmentation multipleModelMethod="sum">
          <Segment id="1"><True/><TreeModel functionName="regression" missingValueStrategy="defaultChild" noTrueChildStrategy="returnLastPrediction">
            <MiningSchema><MiningField name="x1"/></MiningSchema>
            <Node defaultChild="2"><True/>
              <Node id="2" score="0.4"><SimplePredicate field="x1" operator="lessThan" value="1.5"/></Node>
              <Node id="3" score="-0.3"><SimplePredicate field="x1" operator="greaterOrEqual" value="1.5"/></Node></Node></TreeModel></Segment>
          <Segment id="2"><True/><TreeModel functionName="regression" missingValueStrategy="defaultChild" noTrueChildStrategy="returnLastPrediction">
            <MiningSchema><MiningField name="x2"/></MiningSchema>
            <Node defaultChild="5"><True/>
              <Node id="4" score="-0.2"><SimplePredicate field="x2" operator="lessThan" value="0"/></Node>
              <Node id="5" score="0.6"><SimplePredicate field="x2" operator="greaterOrEqual" value="0"/></Node></Node></TreeModel></Segment>
        </Segmentation></MiningModel></Segment>
    <Segment id="2"><True/>
      <RegressionModel functionName="classification" normalizationMethod="logit">
        <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="xgbValue"/></MiningSchema>
        <RegressionTable intercept="0" targetCategory="1"><NumericPredictor name="xgbValue" coefficient="1"/></RegressionTable>
        <RegressionTable intercept="0" targetCategory="0"/></RegressionModel></Segment>
  </Segmentation></MiningModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "gbm.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->categories(), (std::vector<std::string>{"0", "1"}));
  ASSERT_EQ((*model)->width(), 5u);  // two probabilities, the predicted category, p1, decision
  EXPECT_TRUE((*model)->outputs()[1].is_category);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rows[] = {1, 1, 2, -1, nan, nan};
  double out[15];
  ASSERT_TRUE((*model)->Evaluate(rows, 3, out).has_value());
  auto sigmoid = [](double z) { return 1 / (1 + std::exp(-z)); };
  const double margins[] = {0.4 + 0.6 - 0.5, -0.3 - 0.2 - 0.5, 0.4 + 0.6 - 0.5};  // missing: the default children
  for (int r = 0; r < 3; ++r) {
    EXPECT_NEAR(out[5 * r + 1], sigmoid(margins[r]), 1e-12) << r;
    EXPECT_NEAR(out[5 * r], 1 - sigmoid(margins[r]), 1e-12) << r;
    EXPECT_EQ(out[5 * r + 2], margins[r] > 0 ? 1.0 : 0.0) << r;
    EXPECT_EQ(out[5 * r + 3], out[5 * r + 1]) << r;
    EXPECT_EQ(out[5 * r + 4], margins[r] > 0 ? 1.0 : 0.0) << r;
  }
}

// A forest voting on string categories, with a string input field.
TEST(Pmml, MajorityVoteOfTreesOverStringCategories) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
  <DataField name="color" optype="categorical" dataType="string"><Value value="red"/><Value value="green"/><Value value="blue"/></DataField>
  <DataField name="size" optype="continuous" dataType="double"/>
  <DataField name="kind" optype="categorical" dataType="string"><Value value="cat"/><Value value="dog"/></DataField></DataDictionary>
<MiningModel functionName="classification">
  <MiningSchema><MiningField name="kind" usageType="target"/>
    <MiningField name="color" invalidValueTreatment="asMissing" missingValueReplacement="red"/><MiningField name="size"/></MiningSchema>
  <Segmentation multipleModelMethod="majorityVote">
    <Segment><True/><TreeModel functionName="classification"><MiningSchema><MiningField name="color"/></MiningSchema>
      <Node><True/><Node score="cat"><SimplePredicate field="color" operator="equal" value="red"/></Node><Node score="dog"><True/></Node></Node></TreeModel></Segment>
    <Segment><True/><TreeModel functionName="classification"><MiningSchema><MiningField name="size"/></MiningSchema>
      <Node><True/><Node score="cat"><SimplePredicate field="size" operator="lessThan" value="10"/></Node><Node score="dog"><True/></Node></Node></TreeModel></Segment>
    <Segment><True/><TreeModel functionName="classification"><MiningSchema><MiningField name="color"/></MiningSchema>
      <Node><True/><Node score="dog"><SimpleSetPredicate field="color" booleanOperator="isIn"><Array n="2" type="string">"green" "blue"</Array></SimpleSetPredicate></Node>
        <Node score="cat"><True/></Node></Node></TreeModel></Segment>
  </Segmentation></MiningModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "forest.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  ASSERT_TRUE((*model)->inputs()[0].is_string);
  EXPECT_EQ((*model)->categories(), (std::vector<std::string>{"cat", "dog"}));
  const auto& m = **model;
  const double rows[] = {m.Encode("red"), 5, m.Encode("green"), 5, m.Encode("blue"), 20, m.Encode("purple"), 20};
  double p[12];  // a row: P(cat), P(dog), the predicted category
  ASSERT_TRUE(m.Evaluate(rows, 4, p).has_value());
  EXPECT_EQ(p[0], 1.0);
  EXPECT_NEAR(p[3], 1.0 / 3, 1e-12);
  EXPECT_NEAR(p[4], 2.0 / 3, 1e-12);
  EXPECT_EQ(p[5], 1.0);
  EXPECT_EQ(p[7], 1.0);
  EXPECT_NEAR(p[9], 2.0 / 3, 1e-12);  // purple is invalid: as missing, replaced by red
}

// Every regression method of a Segmentation, on three segments (the second selected for x > 0).
TEST(Pmml, SegmentationMethodsCombineTheSelectedSegments) {
  struct Case {
    const char* method;
    double positive, negative;  // x = 2 (segments 3, 10, 4), x = -1 (segments 0, 4)
  };
  const Case cases[] = {{"sum", 17, 4},          {"weightedSum", 35, 12},
                        {"average", 17.0 / 3, 2}, {"weightedAverage", 35.0 / 6, 3},
                        {"median", 4, 2},         {"max", 10, 4},
                        {"selectFirst", 3, 0},    {"modelChain", 4, 4}};
  for (const auto& c : cases) {
    const std::string doc = std::string(R"(<PMML version="4.4"><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<MiningModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
  <Segmentation multipleModelMethod=")") + c.method + R"(">
    <Segment weight="1"><True/><RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
      <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="1"/></RegressionTable></RegressionModel></Segment>
    <Segment weight="2"><SimplePredicate field="x" operator="greaterThan" value="0"/><RegressionModel functionName="regression">
      <MiningSchema/><RegressionTable intercept="10"/></RegressionModel></Segment>
    <Segment weight="3"><True/><RegressionModel functionName="regression"><MiningSchema/><RegressionTable intercept="4"/></RegressionModel></Segment>
  </Segmentation></MiningModel></PMML>)";
    auto model = CompiledPmml::Compile(doc, "seg.pmml");
    ASSERT_TRUE(model.has_value()) << c.method << ": " << model.error().message;
    const double x[] = {2, -1};
    double y[2];
    ASSERT_TRUE((*model)->Evaluate(x, 2, y).has_value());
    EXPECT_NEAR(y[0], c.positive, 1e-12) << c.method;
    EXPECT_NEAR(y[1], c.negative, 1e-12) << c.method;
  }
  auto all = CompiledPmml::Compile(R"(<PMML><DataDictionary/><MiningModel functionName="regression"><MiningSchema/>
<Segmentation multipleModelMethod="selectAll"/></MiningModel></PMML>)", "all.pmml");
  ASSERT_FALSE(all.has_value());
  EXPECT_NE(all.error().message.find("multipleModelMethod 'selectAll' is not supported"), std::string::npos);
  auto vote = CompiledPmml::Compile(R"(<PMML><DataDictionary/><MiningModel functionName="regression"><MiningSchema/>
<Segmentation multipleModelMethod="majorityVote"/></MiningModel></PMML>)", "vote.pmml");
  ASSERT_FALSE(vote.has_value());
  EXPECT_NE(vote.error().message.find("does not apply to a regression"), std::string::npos);
}

// Trees of the exported shape are flattened and summed several at a time: missing values follow
// each tree's strategy, and a tree's null prediction is skipped or nulls the whole.
TEST(Pmml, WeightedForestOfFlatTreesHandlesMissingValuesTreeByTree) {
  for (const std::string treatment : {"continue", "returnMissing"}) {
    const std::string doc = R"(<PMML version="4.4"><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<MiningModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
  <Segmentation multipleModelMethod="weightedAverage" missingPredictionTreatment=")" + treatment + R"(">
    <Segment weight="1"><True/><TreeModel functionName="regression"><MiningSchema/>
      <Node><True/><Node score="10"><SimplePredicate field="x" operator="lessThan" value="1"/></Node>
        <Node score="20"><SimplePredicate field="x" operator="greaterOrEqual" value="1"/></Node></Node></TreeModel></Segment>
    <Segment weight="2"><True/><TreeModel functionName="regression" missingValueStrategy="defaultChild"><MiningSchema/>
      <Node defaultChild="b"><True/><Node id="a" score="2"><SimplePredicate field="x" operator="greaterThan" value="2"/></Node>
        <Node id="b" score="1"><SimplePredicate field="x" operator="lessOrEqual" value="2"/></Node></Node></TreeModel></Segment>
    <Segment weight="3"><True/><TreeModel functionName="regression" missingValueStrategy="lastPrediction"><MiningSchema/>
      <Node score="50"><True/><Node score="100"><SimplePredicate field="x" operator="lessThan" value="5"/></Node>
        <Node score="200"><SimplePredicate field="x" operator="greaterOrEqual" value="5"/></Node></Node></TreeModel></Segment>
  </Segmentation></MiningModel></PMML>)";
    auto model = CompiledPmml::Compile(doc, "forest.pmml");
    ASSERT_TRUE(model.has_value()) << model.error().message;
    const double x[] = {0, 3, std::numeric_limits<double>::quiet_NaN()};
    double y[3];
    ASSERT_TRUE((*model)->Evaluate(x, 3, y).has_value());
    EXPECT_DOUBLE_EQ(y[0], (10 + 2 * 1 + 3 * 100) / 6.0);
    EXPECT_DOUBLE_EQ(y[1], (20 + 2 * 2 + 3 * 100) / 6.0);
    if (treatment == "continue") {
      EXPECT_DOUBLE_EQ(y[2], (2 * 1 + 3 * 50) / 5.0);  // tree 1 is null (strategy none), tree 2 its default child
    } else {
      EXPECT_TRUE(std::isnan(y[2]));
    }
  }
}

TEST(Pmml, NormDiscreteDiscretizeMapValuesAndStringInputs) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
  <DataField name="city" optype="categorical" dataType="string"><Value value="paris"/><Value value="lyon"/><Value value="nice"/></DataField>
  <DataField name="age" optype="continuous" dataType="double"><Interval closure="closedClosed" leftMargin="0" rightMargin="150"/></DataField>
  <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
<TransformationDictionary>
  <DerivedField name="is_paris" optype="continuous" dataType="double"><NormDiscrete field="city" value="paris"/></DerivedField>
  <DerivedField name="age_bin" optype="categorical" dataType="string"><Discretize field="age">
    <DiscretizeBin binValue="young"><Interval closure="openOpen" rightMargin="18"/></DiscretizeBin>
    <DiscretizeBin binValue="adult"><Interval closure="closedOpen" leftMargin="18" rightMargin="65"/></DiscretizeBin>
    <DiscretizeBin binValue="senior"><Interval closure="closedOpen" leftMargin="65"/></DiscretizeBin></Discretize></DerivedField>
  <DerivedField name="age_code" optype="continuous" dataType="double">
    <MapValues outputColumn="code" mapMissingTo="-1" defaultValue="0"><FieldColumnPair field="age_bin" column="bin"/>
      <InlineTable><row><bin>young</bin><code>1</code></row><row><bin>adult</bin><code>2</code></row>
        <row><bin>senior</bin><code>3</code></row></InlineTable></MapValues></DerivedField>
  <DerivedField name="south" optype="continuous" dataType="double">
    <Apply function="isIn"><FieldRef field="city"/><Constant dataType="string">nice</Constant><Constant>marseille</Constant></Apply></DerivedField>
</TransformationDictionary>
<RegressionModel functionName="regression">
  <MiningSchema><MiningField name="city"/><MiningField name="age"/><MiningField name="y" usageType="target"/></MiningSchema>
  <RegressionTable intercept="0"><NumericPredictor name="is_paris" coefficient="100"/><NumericPredictor name="age_code" coefficient="10"/>
    <NumericPredictor name="south" coefficient="1000"/><CategoricalPredictor name="city" value="lyon" coefficient="5"/></RegressionTable>
</RegressionModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "t.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const auto& m = **model;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rows[] = {m.Encode("paris"), 30, m.Encode("lyon"), 10, m.Encode("nice"), 70, m.Encode("nice"), nan};
  double y[4];
  ASSERT_TRUE(m.Evaluate(rows, 4, y).has_value());
  EXPECT_EQ(y[0], 120);
  EXPECT_EQ(y[1], 15);
  EXPECT_EQ(y[2], 1030);
  EXPECT_EQ(y[3], 990);  // age missing: no bin, MapValues' mapMissingTo
  // Invalid values (invalidValueTreatment returnInvalid, the default) fail the call by row and field.
  const double bad_age[] = {m.Encode("paris"), 30, m.Encode("paris"), 200};
  auto error = m.Evaluate(bad_age, 2, y);
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(error.error().message, "row 1: field 'age' has the invalid value 200");
  const double bad_city[] = {m.Encode("berlin"), 30};
  error = m.Evaluate(bad_city, 1, y);
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(error.error().message, "row 0: field 'city' has a value that is not one of its categories");
}

// DerivedFields may refer to fields defined after them; DefineFunction is called by Apply with
// its ParameterFields bound to the arguments (a FieldRef and a NormContinuous on a parameter).
TEST(Pmml, DerivedFieldsInAnyOrderAndUserFunctions) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/><DataField name="w" optype="continuous" dataType="double"/>
    <DataField name="t" optype="continuous" dataType="double"/></DataDictionary>
  <TransformationDictionary>
    <DefineFunction name="scaled" optype="continuous"><ParameterField name="a"/><ParameterField name="b"/>
      <Apply function="+"><Apply function="*"><FieldRef field="a"/><Constant>10</Constant></Apply>
        <NormContinuous field="b"><LinearNorm orig="0" norm="0"/><LinearNorm orig="4" norm="1"/></NormContinuous></Apply>
    </DefineFunction>
    <DerivedField name="late" optype="continuous" dataType="double"><Apply function="scaled"><FieldRef field="doubled"/><FieldRef field="w"/></Apply></DerivedField>
    <DerivedField name="doubled" optype="continuous" dataType="double"><Apply function="*"><FieldRef field="x"/><Constant>2</Constant></Apply></DerivedField>
  </TransformationDictionary>
  <RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/><MiningField name="w"/>
      <MiningField name="t" usageType="target"/></MiningSchema>
    <RegressionTable intercept="0"><NumericPredictor name="late" coefficient="1"/></RegressionTable></RegressionModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "functions.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const double rows[] = {3, 2, 0.5, 8};
  double out[2];
  ASSERT_TRUE((*model)->Evaluate(rows, 2, out).has_value());
  EXPECT_DOUBLE_EQ(out[0], 3 * 2 * 10 + 2.0 / 4);
  EXPECT_DOUBLE_EQ(out[1], 0.5 * 2 * 10 + 8.0 / 4);
  // A cycle, and a function that calls itself, are refused naming them.
  auto cycle = CompiledPmml::Compile(R"(<PMML><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<TransformationDictionary>
<DerivedField name="a"><FieldRef field="b"/></DerivedField>
<DerivedField name="b"><FieldRef field="a"/></DerivedField></TransformationDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
<RegressionTable intercept="0"/></RegressionModel></PMML>)", "c.pmml");
  ASSERT_FALSE(cycle.has_value());
  EXPECT_EQ(cycle.error().message, "c.pmml:4: <FieldRef>: DerivedField 'a' depends on itself (a -> b -> a)");
  auto recursive = CompiledPmml::Compile(R"(<PMML><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<TransformationDictionary><DefineFunction name="f"><ParameterField name="p"/>
<Apply function="f"><FieldRef field="p"/></Apply></DefineFunction>
<DerivedField name="d"><Apply function="f"><FieldRef field="x"/></Apply></DerivedField></TransformationDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
<RegressionTable intercept="0"/></RegressionModel></PMML>)", "r.pmml");
  ASSERT_FALSE(recursive.has_value());
  EXPECT_EQ(recursive.error().message, "r.pmml:3: <Apply>: function 'f' calls itself");
}

TEST(Pmml, BooleanFieldsComparedWithTrueAndFalse) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="member" optype="categorical" dataType="boolean"><Value value="true"/><Value value="false"/></DataField>
    <DataField name="t" optype="continuous" dataType="double"/></DataDictionary>
  <TreeModel functionName="regression"><MiningSchema><MiningField name="member"/><MiningField name="t" usageType="target"/></MiningSchema>
    <Node><True/><Node score="10"><SimplePredicate field="member" operator="equal" value="true"/></Node>
      <Node score="20"><SimplePredicate field="member" operator="equal" value="false"/></Node></Node></TreeModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "bool.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_FALSE((*model)->inputs()[0].is_string);
  const double rows[] = {1, 0};
  double out[2];
  ASSERT_TRUE((*model)->Evaluate(rows, 2, out).has_value());
  EXPECT_EQ(out[0], 10);
  EXPECT_EQ(out[1], 20);
}

// One neuron, z = 0.5 + 1.5 x, through each activation function of PMML 4.4.
TEST(Pmml, NeuralNetworkActivationFunctions) {
  struct Case {
    const char* name;
    const char* extra;  // layer attributes
    double (*f)(double z);
  };
  const Case cases[] = {
      {"threshold", R"(threshold="0.9")", [](double z) { return z > 0.9 ? 1.0 : 0.0; }},
      {"logistic", "", [](double z) { return 1 / (1 + std::exp(-z)); }},
      {"tanh", "", [](double z) { return std::tanh(z); }},
      {"identity", "", [](double z) { return z; }},
      {"exponential", "", [](double z) { return std::exp(z); }},
      {"reciprocal", "", [](double z) { return 1 / z; }},
      {"square", "", [](double z) { return z * z; }},
      {"Gauss", "", [](double z) { return std::exp(-z * z); }},
      {"sine", "", [](double z) { return std::sin(z); }},
      {"cosine", "", [](double z) { return std::cos(z); }},
      {"Elliott", "", [](double z) { return z / (1 + std::abs(z)); }},
      {"arctan", "", [](double z) { return 2 * std::atan(z) / 3.141592653589793; }},
      {"rectifier", R"(leakage="0.1")", [](double z) { return z > 0 ? z : 0.1 * z; }},
  };
  for (const auto& c : cases) {
    const std::string doc = fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
    <NeuralNetwork functionName="regression" activationFunction="identity">
      <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
      <NeuralInputs><NeuralInput id="in"><DerivedField optype="continuous" dataType="double"><FieldRef field="x"/></DerivedField></NeuralInput></NeuralInputs>
      <NeuralLayer activationFunction="{}" {}><Neuron id="n" bias="0.5"><Con from="in" weight="1.5"/></Neuron></NeuralLayer>
      <NeuralOutputs><NeuralOutput outputNeuron="n"><DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField></NeuralOutput></NeuralOutputs>
    </NeuralNetwork></PMML>)", c.name, c.extra);
    auto model = CompiledPmml::Compile(doc, "nn.pmml");
    ASSERT_TRUE(model.has_value()) << c.name << ": " << model.error().message;
    const double rows[] = {-2, 0.1, 1.3};
    double out[3];
    ASSERT_TRUE((*model)->Evaluate(rows, 3, out).has_value());
    for (int r = 0; r < 3; ++r) EXPECT_DOUBLE_EQ(out[r], c.f(0.5 + 1.5 * rows[r])) << c.name << " row " << r;
  }
}

// Two inputs (one normalized), a tanh layer, a radial basis layer, and a softmax output layer
// giving three categories' probabilities; a missing input is a null prediction.
TEST(Pmml, NeuralNetworkClassificationComputedByHand) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/>
    <DataField name="k" optype="categorical" dataType="string"><Value value="r"/><Value value="g"/><Value value="b"/></DataField></DataDictionary>
  <NeuralNetwork functionName="classification" activationFunction="tanh" width="2">
    <MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="k" usageType="target"/></MiningSchema>
    <NeuralInputs>
      <NeuralInput id="0"><DerivedField optype="continuous" dataType="double"><FieldRef field="a"/></DerivedField></NeuralInput>
      <NeuralInput id="1"><DerivedField optype="continuous" dataType="double"><NormContinuous field="b">
        <LinearNorm orig="0" norm="-1"/><LinearNorm orig="10" norm="1"/></NormContinuous></DerivedField></NeuralInput>
    </NeuralInputs>
    <NeuralLayer>
      <Neuron id="h1" bias="0.1"><Con from="0" weight="0.5"/><Con from="1" weight="-0.3"/></Neuron>
      <Neuron id="h2" bias="-0.2"><Con from="0" weight="0.8"/><Con from="1" weight="0.4"/></Neuron>
    </NeuralLayer>
    <NeuralLayer activationFunction="radialBasis" altitude="1.5">
      <Neuron id="r1"><Con from="h1" weight="0.2"/><Con from="h2" weight="-0.1"/></Neuron>
      <Neuron id="r2" width="0.5"><Con from="h1" weight="-0.4"/><Con from="h2" weight="0.3"/></Neuron>
    </NeuralLayer>
    <NeuralLayer activationFunction="identity" normalizationMethod="softmax">
      <Neuron id="o1" bias="0.3"><Con from="r1" weight="1.2"/><Con from="r2" weight="-0.7"/></Neuron>
      <Neuron id="o2" bias="-0.1"><Con from="r1" weight="-0.5"/><Con from="r2" weight="0.9"/></Neuron>
      <Neuron id="o3"><Con from="r1" weight="0.4"/><Con from="r2" weight="0.4"/></Neuron>
    </NeuralLayer>
    <NeuralOutputs>
      <NeuralOutput outputNeuron="o2"><DerivedField optype="categorical" dataType="string"><NormDiscrete field="k" value="g"/></DerivedField></NeuralOutput>
      <NeuralOutput outputNeuron="o1"><DerivedField optype="categorical" dataType="string"><NormDiscrete field="k" value="r"/></DerivedField></NeuralOutput>
      <NeuralOutput outputNeuron="o3"><DerivedField optype="categorical" dataType="string"><NormDiscrete field="k" value="b"/></DerivedField></NeuralOutput>
    </NeuralOutputs>
  </NeuralNetwork></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "nn.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->categories(), (std::vector<std::string>{"r", "g", "b"}));
  const double a = 1.7, b = 3.0;
  const double i0 = a, i1 = -1 + 2 * b / 10;
  const double h1 = std::tanh(0.1 + 0.5 * i0 - 0.3 * i1), h2 = std::tanh(-0.2 + 0.8 * i0 + 0.4 * i1);
  auto rbf = [](double d2, double width) { return std::exp(2 * std::log(1.5) - d2 / (2 * width * width)); };
  const double r1 = rbf((h1 - 0.2) * (h1 - 0.2) + (h2 + 0.1) * (h2 + 0.1), 2);
  const double r2 = rbf((h1 + 0.4) * (h1 + 0.4) + (h2 - 0.3) * (h2 - 0.3), 0.5);
  const double z[] = {0.3 + 1.2 * r1 - 0.7 * r2, -0.1 - 0.5 * r1 + 0.9 * r2, 0.4 * r1 + 0.4 * r2};
  const double sum = std::exp(z[0]) + std::exp(z[1]) + std::exp(z[2]);
  const double rows[] = {a, b, a, std::numeric_limits<double>::quiet_NaN()};
  double out[8];  // P(r), P(g), P(b), the predicted category
  ASSERT_TRUE((*model)->Evaluate(rows, 2, out).has_value());
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(out[j], std::exp(z[j]) / sum, 1e-15) << j;
  EXPECT_EQ(out[3], static_cast<double>(std::max_element(z, z + 3) - z));
  EXPECT_TRUE(std::isnan(out[4]));
  EXPECT_TRUE(std::isnan(out[7]));
}

// OneAgainstAll over sparse vectors with a categorical indicator field: the smallest f wins (the
// largest with maxWins); svmRepresentation Coefficients; a regression's single machine.
TEST(Pmml, SupportVectorMachinesComputedByHand) {
  auto document = [](const char* attrs, const char* machines) {
    return fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="a" optype="continuous" dataType="double"/>
      <DataField name="c" optype="categorical" dataType="string"><Value value="u"/><Value value="w"/></DataField>
      <DataField name="k" optype="categorical" dataType="string"><Value value="p"/><Value value="q"/><Value value="r"/></DataField></DataDictionary>
    <SupportVectorMachineModel functionName="classification" {}>
      <MiningSchema><MiningField name="a"/><MiningField name="c"/><MiningField name="k" usageType="target"/></MiningSchema>
      <RadialBasisKernelType gamma="0.5"/>
      <VectorDictionary><VectorFields><FieldRef field="a"/><CategoricalPredictor name="c" value="w" coefficient="1"/></VectorFields>
        <VectorInstance id="v1"><REAL-SparseArray n="2"><Indices>1</Indices><REAL-Entries>1.5</REAL-Entries></REAL-SparseArray></VectorInstance>
        <VectorInstance id="v2"><Array n="2" type="real">-1 1</Array></VectorInstance>
      </VectorDictionary>{}
    </SupportVectorMachineModel></PMML>)", attrs, machines);
  };
  constexpr const char* kMachines = R"(
      <SupportVectorMachine targetCategory="p"><SupportVectors><SupportVector vectorId="v1"/></SupportVectors>
        <Coefficients absoluteValue="0.1"><Coefficient value="1"/></Coefficients></SupportVectorMachine>
      <SupportVectorMachine targetCategory="q"><SupportVectors><SupportVector vectorId="v2"/></SupportVectors>
        <Coefficients absoluteValue="0.2"><Coefficient value="1"/></Coefficients></SupportVectorMachine>
      <SupportVectorMachine targetCategory="r"><SupportVectors><SupportVector vectorId="v1"/><SupportVector vectorId="v2"/></SupportVectors>
        <Coefficients absoluteValue="-0.3"><Coefficient value="0.5"/><Coefficient value="0.5"/></Coefficients></SupportVectorMachine>)";
  const double a = 0.4;  // c = "w": the indicator is 1
  const double k1 = std::exp(-0.5 * ((a - 1.5) * (a - 1.5) + 1)), k2 = std::exp(-0.5 * ((a + 1) * (a + 1)));
  const double f[] = {0.1 + k1, 0.2 + k2, -0.3 + 0.5 * k1 + 0.5 * k2};
  for (bool max_wins : {false, true}) {
    auto model = CompiledPmml::Compile(
        document(max_wins ? R"(classificationMethod="OneAgainstAll" maxWins="true")" : R"(classificationMethod="OneAgainstAll")",
                 kMachines),
        "svm.pmml");
    ASSERT_TRUE(model.has_value()) << model.error().message;
    const double rows[] = {a, (*model)->Encode("w")};
    double out[4];
    ASSERT_TRUE((*model)->Evaluate(rows, 1, out).has_value());
    const auto winner = max_wins ? std::max_element(f, f + 3) - f : std::min_element(f, f + 3) - f;
    EXPECT_EQ(out[3], static_cast<double>(winner)) << max_wins;
    EXPECT_EQ(out[winner], 1.0);
  }
  // A linear machine by its coefficients, as a regression.
  auto linear = CompiledPmml::Compile(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/>
      <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
    <SupportVectorMachineModel functionName="regression" svmRepresentation="Coefficients">
      <MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="y" usageType="target"/></MiningSchema>
      <LinearKernelType/><VectorDictionary><VectorFields><FieldRef field="a"/><FieldRef field="b"/></VectorFields></VectorDictionary>
      <SupportVectorMachine><Coefficients absoluteValue="0.5"><Coefficient value="2"/><Coefficient value="-3"/></Coefficients></SupportVectorMachine>
    </SupportVectorMachineModel></PMML>)", "linear.pmml");
  ASSERT_TRUE(linear.has_value()) << linear.error().message;
  const double rows[] = {1.5, 0.25};
  double y = 0;
  ASSERT_TRUE((*linear)->Evaluate(rows, 1, &y).has_value());
  EXPECT_DOUBLE_EQ(y, 0.5 + 2 * 1.5 - 3 * 0.25);
}

// The PMML 4.4 specification's kind of scorecard: points by characteristic, a complex partial
// score, reason codes ranked by the points lost against each baseline (pointsBelow), summed by
// code, negative ones left out.
TEST(Pmml, ScorecardWithReasonCodes) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="dept" optype="categorical" dataType="string"><Value value="engineering"/><Value value="marketing"/><Value value="business"/></DataField>
    <DataField name="age" optype="continuous" dataType="double"/>
    <DataField name="income" optype="continuous" dataType="double"/>
    <DataField name="score" optype="continuous" dataType="double"/></DataDictionary>
  <Scorecard functionName="regression" useReasonCodes="true" reasonCodeAlgorithm="pointsBelow" initialScore="0" baselineMethod="other">
    <MiningSchema><MiningField name="dept"/><MiningField name="age"/><MiningField name="income"/><MiningField name="score" usageType="predicted"/></MiningSchema>
    <Output><OutputField name="Final Score" feature="predictedValue" dataType="double" optype="continuous"/>
      <OutputField name="Reason Code 1" rank="1" feature="reasonCode" dataType="string" optype="categorical"/>
      <OutputField name="Reason Code 2" rank="2" feature="reasonCode" dataType="string" optype="categorical"/>
      <OutputField name="Reason Code 3" rank="3" feature="reasonCode" dataType="string" optype="categorical"/></Output>
    <Characteristics>
      <Characteristic name="departmentScore" reasonCode="RC1" baselineScore="19">
        <Attribute partialScore="-9"><SimplePredicate field="dept" operator="isMissing"/></Attribute>
        <Attribute partialScore="19"><SimplePredicate field="dept" operator="equal" value="marketing"/></Attribute>
        <Attribute partialScore="3"><SimplePredicate field="dept" operator="equal" value="engineering"/></Attribute>
        <Attribute partialScore="6"><SimplePredicate field="dept" operator="equal" value="business"/></Attribute>
      </Characteristic>
      <Characteristic name="ageScore" reasonCode="RC2" baselineScore="18">
        <Attribute partialScore="-1"><SimplePredicate field="age" operator="isMissing"/></Attribute>
        <Attribute partialScore="-3"><SimplePredicate field="age" operator="lessOrEqual" value="18"/></Attribute>
        <Attribute partialScore="0"><CompoundPredicate booleanOperator="and"><SimplePredicate field="age" operator="greaterThan" value="18"/><SimplePredicate field="age" operator="lessOrEqual" value="29"/></CompoundPredicate></Attribute>
        <Attribute partialScore="12"><CompoundPredicate booleanOperator="and"><SimplePredicate field="age" operator="greaterThan" value="29"/><SimplePredicate field="age" operator="lessOrEqual" value="39"/></CompoundPredicate></Attribute>
        <Attribute partialScore="18"><SimplePredicate field="age" operator="greaterThan" value="39"/></Attribute>
      </Characteristic>
      <Characteristic name="incomeScore" reasonCode="RC3" baselineScore="10">
        <Attribute partialScore="3"><SimplePredicate field="income" operator="isMissing"/></Attribute>
        <Attribute reasonCode="RC2"><SimplePredicate field="income" operator="lessOrEqual" value="1000"/>
          <ComplexPartialScore><Apply function="*"><FieldRef field="income"/><Constant>0.01</Constant></Apply></ComplexPartialScore></Attribute>
        <Attribute partialScore="26"><SimplePredicate field="income" operator="greaterThan" value="1000"/></Attribute>
      </Characteristic>
    </Characteristics>
  </Scorecard></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "scorecard.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const auto& m = **model;
  ASSERT_EQ(m.outputs().size(), 4u);
  EXPECT_TRUE(m.outputs()[1].is_string);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // engineering (3: RC1 lost 16), age 25 (0: RC2 lost 18), income 500 (5: RC2 lost 5 more).
  // marketing (19: RC1 0), age 45 (18: RC2 0), income 2000 (26: RC3 -16, left out).
  const double rows[] = {m.Encode("engineering"), 25, 500, m.Encode("marketing"), 45, 2000, m.Encode("business"), nan, 10};
  double out[15];
  ASSERT_TRUE(m.Evaluate(rows, 3, out).has_value());
  EXPECT_DOUBLE_EQ(out[0], 3 + 0 + 5);
  EXPECT_DOUBLE_EQ(out[1], 8);
  EXPECT_EQ(m.Decode(out[2]), "RC2");  // 18 + 5
  EXPECT_EQ(m.Decode(out[3]), "RC1");  // 16
  EXPECT_EQ(m.Decode(out[4]), "");     // no Characteristic gave RC3 points
  EXPECT_DOUBLE_EQ(out[5], 19 + 18 + 26);
  EXPECT_EQ(m.Decode(out[7]), "RC1");  // 0 points: kept, in document order
  EXPECT_EQ(m.Decode(out[8]), "RC2");
  EXPECT_EQ(m.Decode(out[9]), "");     // RC3: -16, left out
  EXPECT_DOUBLE_EQ(out[10], 6 - 1 + 0.1);  // age missing: -1; income 10: 0.1
}

// A RuleSet with a CompoundRule, under each selection criterion, and its defaultScore.
TEST(Pmml, RuleSetCriteria) {
  auto document = [](const char* criterion) {
    return fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="bp" optype="continuous" dataType="double"/><DataField name="age" optype="continuous" dataType="double"/>
      <DataField name="drug" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/><Value value="C"/></DataField></DataDictionary>
    <RuleSetModel functionName="classification"><MiningSchema><MiningField name="bp"/><MiningField name="age"/>
      <MiningField name="drug" usageType="target"/></MiningSchema>
      <RuleSet defaultScore="C"><RuleSelectionMethod criterion="{}"/><RuleSelectionMethod criterion="firstHit"/>
        <SimpleRule id="r1" score="A" weight="0.3"><SimplePredicate field="bp" operator="greaterThan" value="140"/></SimpleRule>
        <CompoundRule><SimplePredicate field="age" operator="lessThan" value="50"/>
          <SimpleRule id="r2" score="B" weight="0.8"><SimplePredicate field="bp" operator="greaterThan" value="120"/>
            <ScoreDistribution value="A" recordCount="1"/><ScoreDistribution value="B" recordCount="3"/></SimpleRule>
          <SimpleRule id="r3" score="A" weight="0.4"><True/></SimpleRule>
        </CompoundRule>
      </RuleSet></RuleSetModel></PMML>)", criterion);
  };
  const double rows[] = {150, 30,   // r1, r2, r3 fire
                         130, 60,   // none: the default C
                         100, 40};  // r3
  double out[12];  // P(A), P(B), P(C), the predicted category
  auto first = CompiledPmml::Compile(document("firstHit"), "rules.pmml");
  ASSERT_TRUE(first.has_value()) << first.error().message;
  ASSERT_TRUE((*first)->Evaluate(rows, 3, out).has_value());
  EXPECT_EQ(std::vector<double>(out, out + 4), (std::vector<double>{1, 0, 0, 0}));
  EXPECT_EQ(std::vector<double>(out + 4, out + 8), (std::vector<double>{0, 0, 1, 2}));
  EXPECT_EQ(std::vector<double>(out + 8, out + 12), (std::vector<double>{1, 0, 0, 0}));
  auto max = CompiledPmml::Compile(document("weightedMax"), "rules.pmml");
  ASSERT_TRUE(max.has_value()) << max.error().message;
  ASSERT_TRUE((*max)->Evaluate(rows, 3, out).has_value());
  EXPECT_EQ(std::vector<double>(out, out + 4), (std::vector<double>{0.25, 0.75, 0, 1}));  // r2 and its distribution
  auto sum = CompiledPmml::Compile(document("weightedSum"), "rules.pmml");
  ASSERT_TRUE(sum.has_value()) << sum.error().message;
  ASSERT_TRUE((*sum)->Evaluate(rows, 3, out).has_value());
  EXPECT_NEAR(out[0], (0.3 + 0.4) / 3, 1e-15);  // A: r1 and r3; three rules fired
  EXPECT_NEAR(out[1], 0.8 / 3, 1e-15);
  EXPECT_EQ(out[3], 1.0);  // B's 0.8 beats A's 0.7
  EXPECT_EQ(out[7], 2.0);
}

// Center-based clustering under each distance, field weights, and a missing value scaled by the
// MissingValueWeights of the fields present.
TEST(Pmml, ClusteringDistances) {
  auto document = [](const char* measure) {
    return fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/></DataDictionary>
    <ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="2">
      <MiningSchema><MiningField name="a"/><MiningField name="b"/></MiningSchema>
      <ComparisonMeasure kind="distance">{}</ComparisonMeasure>
      <ClusteringField field="a" fieldWeight="2"/><ClusteringField field="b"/>
      <MissingValueWeights><Array n="2" type="real">1 3</Array></MissingValueWeights>
      <Cluster id="near" name="n"><Array n="2" type="real">0 0</Array></Cluster>
      <Cluster id="far"><Array n="2" type="real">3 4</Array></Cluster>
    </ClusteringModel></PMML>)", measure);
  };
  // (1, 3.5): weighted distances to (0, 0) and (3, 4) under each measure.
  struct Case {
    const char* measure;
    double to_near, to_far;
  };
  const Case cases[] = {
      {"<squaredEuclidean/>", 2 * 1 + 3.5 * 3.5, 2 * 4 + 0.25},
      {"<euclidean/>", std::sqrt(2 + 12.25), std::sqrt(8.25)},
      {"<cityBlock/>", 2 + 3.5, 4 + 0.5},
      {"<chebychev/>", 3.5, 4},
      {R"(<minkowski p-parameter="3"/>)", std::cbrt(2 + 3.5 * 3.5 * 3.5), std::cbrt(2 * 8 + 0.125)},
  };
  for (const auto& c : cases) {
    auto model = CompiledPmml::Compile(document(c.measure), "clusters.pmml");
    ASSERT_TRUE(model.has_value()) << c.measure << ": " << model.error().message;
    EXPECT_EQ((*model)->categories(), (std::vector<std::string>{"near", "far"}));
    const double rows[] = {1, 3.5, std::numeric_limits<double>::quiet_NaN(), 3.2};
    double out[6];
    ASSERT_TRUE((*model)->Evaluate(rows, 2, out).has_value());
    EXPECT_EQ(out[2], c.to_near <= c.to_far ? 0.0 : 1.0) << c.measure;
    // a missing: only b counts (scaled by 4/3, the same for both clusters): 3.2 is nearer 4 than 0.
    EXPECT_EQ(out[5], 1.0) << c.measure;
  }
}

// Naive Bayes with a discrete input (PairCounts, a count of zero taking the threshold), a
// discretized continuous one, and a Gaussian one; a missing value adds nothing.
TEST(Pmml, NaiveBayesComputedByHand) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="color" optype="categorical" dataType="string"><Value value="red"/><Value value="blue"/></DataField>
    <DataField name="age" optype="continuous" dataType="double"/><DataField name="h" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="no"/><Value value="yes"/></DataField></DataDictionary>
  <NaiveBayesModel functionName="classification" threshold="0.001">
    <MiningSchema><MiningField name="color"/><MiningField name="age"/><MiningField name="h"/><MiningField name="y" usageType="target"/></MiningSchema>
    <BayesInputs>
      <BayesInput fieldName="color">
        <PairCounts value="red"><TargetValueCounts><TargetValueCount value="no" count="6"/><TargetValueCount value="yes" count="0"/></TargetValueCounts></PairCounts>
        <PairCounts value="blue"><TargetValueCounts><TargetValueCount value="no" count="2"/><TargetValueCount value="yes" count="4"/></TargetValueCounts></PairCounts>
      </BayesInput>
      <BayesInput fieldName="age"><DerivedField optype="categorical" dataType="string">
          <Discretize field="age"><DiscretizeBin binValue="young"><Interval closure="openOpen" rightMargin="30"/></DiscretizeBin>
            <DiscretizeBin binValue="old"><Interval closure="closedOpen" leftMargin="30"/></DiscretizeBin></Discretize></DerivedField>
        <PairCounts value="young"><TargetValueCounts><TargetValueCount value="no" count="3"/><TargetValueCount value="yes" count="1"/></TargetValueCounts></PairCounts>
        <PairCounts value="old"><TargetValueCounts><TargetValueCount value="no" count="5"/><TargetValueCount value="yes" count="3"/></TargetValueCounts></PairCounts>
      </BayesInput>
      <BayesInput fieldName="h"><TargetValueStats>
        <TargetValueStat value="no"><GaussianDistribution mean="1" variance="4"/></TargetValueStat>
        <TargetValueStat value="yes"><GaussianDistribution mean="3" variance="1"/></TargetValueStat></TargetValueStats></BayesInput>
    </BayesInputs>
    <BayesOutput fieldName="y"><TargetValueCounts><TargetValueCount value="no" count="8"/><TargetValueCount value="yes" count="4"/></TargetValueCounts></BayesOutput>
  </NaiveBayesModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "nb.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const auto& m = **model;
  auto gauss = [](double x, double mean, double var) {
    return std::exp(-(x - mean) * (x - mean) / (2 * var)) / std::sqrt(2 * 3.141592653589793 * var);
  };
  const double rows[] = {m.Encode("blue"), 25, 2.5, m.Encode("red"), 40, std::numeric_limits<double>::quiet_NaN()};
  double out[6];
  ASSERT_TRUE(m.Evaluate(rows, 2, out).has_value());
  // blue, young, 2.5
  double no = 8 * (2.0 / 8) * (3.0 / 8) * gauss(2.5, 1, 4), yes = 4 * (4.0 / 4) * (1.0 / 4) * gauss(2.5, 3, 1);
  EXPECT_NEAR(out[0], no / (no + yes), 1e-14);
  EXPECT_NEAR(out[1], yes / (no + yes), 1e-14);
  // red (yes: a zero count, the threshold), old, h missing
  no = 8 * (6.0 / 8) * (5.0 / 8);
  yes = 4 * 0.001 * (3.0 / 4);
  EXPECT_NEAR(out[3], no / (no + yes), 1e-14);
  EXPECT_NEAR(out[4], yes / (no + yes), 1e-14);
}

// GeneralRegression: a factor, a covariate squared, an interaction cell; a generalized linear
// model with a logit link, an offset variable and trials; an ordinal model with a probit link.
TEST(Pmml, GeneralRegressionComputedByHand) {
  constexpr const char* kHead = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="g" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField>
    <DataField name="x" optype="continuous" dataType="double"/><DataField name="off" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="lo"/><Value value="mid"/><Value value="hi"/></DataField>
    <DataField name="r" optype="continuous" dataType="double"/></DataDictionary>)";
  constexpr const char* kDesign = R"(
    <ParameterList><Parameter name="p0"/><Parameter name="p1"/><Parameter name="p2"/><Parameter name="p3"/></ParameterList>
    <FactorList><Predictor name="g"/></FactorList><CovariateList><Predictor name="x"/></CovariateList>
    <PPMatrix><PPCell value="b" predictorName="g" parameterName="p1"/><PPCell value="2" predictorName="x" parameterName="p2"/>
      <PPCell value="b" predictorName="g" parameterName="p3"/><PPCell value="1" predictorName="x" parameterName="p3"/></PPMatrix>)";
  const std::string glm = fmt::format(R"({}<GeneralRegressionModel modelType="generalizedLinear" functionName="regression"
      linkFunction="logit" offsetVariable="off" trialsValue="10">
    <MiningSchema><MiningField name="g"/><MiningField name="x"/><MiningField name="off"/><MiningField name="r" usageType="target"/></MiningSchema>{}
    <ParamMatrix><PCell parameterName="p0" beta="-1"/><PCell parameterName="p1" beta="0.5"/><PCell parameterName="p2" beta="0.25"/>
      <PCell parameterName="p3" beta="-0.3"/></ParamMatrix></GeneralRegressionModel></PMML>)", kHead, kDesign);
  auto model = CompiledPmml::Compile(glm, "glm.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  const auto& m = **model;
  const double rows[] = {m.Encode("b"), 2, 0.1, m.Encode("a"), 3, -0.2};
  double out[2];
  ASSERT_TRUE(m.Evaluate(rows, 2, out).has_value());
  auto logistic = [](double z) { return 1 / (1 + std::exp(-z)); };
  EXPECT_NEAR(out[0], 10 * logistic(-1 + 0.5 + 0.25 * 4 - 0.3 * 2 + 0.1), 1e-13);
  EXPECT_NEAR(out[1], 10 * logistic(-1 + 0.25 * 9 - 0.2), 1e-13);
  const std::string ordinal = fmt::format(R"({}<GeneralRegressionModel modelType="ordinalMultinomial" functionName="classification"
      cumulativeLink="probit">
    <MiningSchema><MiningField name="g"/><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>{}
    <ParamMatrix><PCell targetCategory="lo" parameterName="p0" beta="-0.5"/><PCell targetCategory="mid" parameterName="p0" beta="0.7"/>
      <PCell parameterName="p1" beta="0.4"/><PCell parameterName="p2" beta="-0.1"/></ParamMatrix></GeneralRegressionModel></PMML>)",
                                          kHead, kDesign);
  auto ord = CompiledPmml::Compile(ordinal, "ordinal.pmml");
  ASSERT_TRUE(ord.has_value()) << ord.error().message;
  const double one[] = {(*ord)->Encode("b"), 2};
  double p[4];
  ASSERT_TRUE((*ord)->Evaluate(one, 1, p).has_value());
  auto phi = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  const double slope = 0.4 - 0.1 * 4;
  EXPECT_NEAR(p[0], phi(-0.5 + slope), 1e-15);
  EXPECT_NEAR(p[1], phi(0.7 + slope) - phi(-0.5 + slope), 1e-15);
  EXPECT_NEAR(p[2], 1 - phi(0.7 + slope), 1e-15);
}

// Targets: a regression's defaultValue (no prediction), min/max and castInteger; a
// classification's priors (no prediction) and display values.
TEST(Pmml, TargetValuesAndDisplayValues) {
  constexpr const char* kRegression = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Targets><Target field="y" rescaleFactor="2" min="-5" max="9" castInteger="floor"><TargetValue defaultValue="42"/></Target></Targets>
    <RegressionTable intercept="0.25"><NumericPredictor name="x" coefficient="1"/></RegressionTable></RegressionModel></PMML>)";
  auto regression = CompiledPmml::Compile(kRegression, "targets.pmml");
  ASSERT_TRUE(regression.has_value()) << regression.error().message;
  const double x[] = {1.5, 100, -100, std::numeric_limits<double>::quiet_NaN()};
  double y[4];
  ASSERT_TRUE((*regression)->Evaluate(x, 4, y).has_value());
  EXPECT_EQ(std::vector<double>(y, y + 4), (std::vector<double>{3, 9, -5, 42}));
  constexpr const char* kClassification = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="k" optype="categorical" dataType="string"><Value value="a" displayValue="Alpha"/><Value value="b"/></DataField></DataDictionary>
  <TreeModel functionName="classification" missingValueStrategy="nullPrediction">
    <MiningSchema><MiningField name="x"/><MiningField name="k" usageType="target"/></MiningSchema>
    <Output><OutputField name="shown" feature="predictedDisplayValue"/></Output>
    <Targets><Target field="k"><TargetValue value="a" priorProbability="0.3"/><TargetValue value="b" priorProbability="0.7" displayValue="Beta"/></Target></Targets>
    <Node><True/><Node score="a"><SimplePredicate field="x" operator="lessThan" value="0"/></Node><Node score="b"><True/></Node></Node>
  </TreeModel></PMML>)";
  auto classification = CompiledPmml::Compile(kClassification, "priors.pmml");
  ASSERT_TRUE(classification.has_value()) << classification.error().message;
  const auto& m = **classification;
  ASSERT_TRUE(m.outputs()[0].is_string);
  const double rows[] = {-1, std::numeric_limits<double>::quiet_NaN()};
  double out[8];  // P(a), P(b), predicted, shown
  ASSERT_TRUE(m.Evaluate(rows, 2, out).has_value());
  EXPECT_EQ(out[2], 0.0);
  EXPECT_EQ(m.Decode(out[3]), "Alpha");
  EXPECT_EQ(out[4], 0.3);  // no prediction: the priors
  EXPECT_EQ(out[5], 0.7);
  EXPECT_EQ(m.Decode(out[7]), "Beta");
}

TEST(Pmml, UnsupportedElementsAndFunctionsAreRefusedWithTheirLine) {
  auto unknown = CompiledPmml::Compile("<PMML>\n<DataDictionary/>\n<SequenceModel functionName=\"sequences\"/>\n</PMML>",
                                       "t.pmml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message, "t.pmml:3: <SequenceModel>: not supported by ferry's PMML evaluator");
  auto function = CompiledPmml::Compile(R"(<PMML><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<TransformationDictionary><DerivedField name="d">
<Apply function="x-fancy"><FieldRef field="x"/></Apply></DerivedField></TransformationDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
<RegressionTable intercept="0"/></RegressionModel></PMML>)",
                                        "f.pmml");
  ASSERT_FALSE(function.has_value());
  EXPECT_EQ(function.error().message,
            "f.pmml:3: <Apply>: function 'x-fancy' is not supported (nor defined by a DefineFunction)");
  auto field = CompiledPmml::Compile(R"(<PMML><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
<RegressionTable intercept="0"><NumericPredictor name="y" coefficient="1"/></RegressionTable></RegressionModel></PMML>)",
                                     "n.pmml");
  ASSERT_FALSE(field.has_value());
  EXPECT_NE(field.error().message.find("n.pmml:3: <NumericPredictor>: field 'y' is not an active, derived or output field"),
            std::string::npos)
      << field.error().message;
  auto version = CompiledPmml::Compile(R"(<PMML version="2.1"><DataDictionary/></PMML>)", "v.pmml");
  ASSERT_FALSE(version.has_value());
  EXPECT_EQ(version.error().message, "v.pmml:1: <PMML>: PMML version 2.1 is not supported (3.x and 4.x are)");
  auto xml = CompiledPmml::Compile("<PMML><DataDictionary>", "x.pmml");
  ASSERT_FALSE(xml.has_value());
  EXPECT_NE(xml.error().message.find("not valid XML"), std::string::npos);
}

// TreeSHAP over a tree with recordCounts, the field x1 split twice on one path, the Target
// doubling the score. The path-dependent game values a coalition by following the row where the
// coalition has the split's field and averaging the branches by recordCount elsewhere:
// f() = (1*1 + 3*3 + 5*2 + 8*4) / 10 = 5.2. Row (0.5, 1): f(x1) = 2.5, f(x2) = 0.4*3 + 0.6*7 = 5.4,
// f(x1, x2) = 3, so phi = (-2.55, 0.35). Row (1.5, missing; x2's default child scores 1):
// f(x1) = 5, f(x2) = 0.4*1 + 0.6*7 = 4.6, f(x1, x2) = 5, so phi = (0.1, -0.3).
TEST(Pmml, TreeShapGivesThePathDependentShapleyValuesComputedByHand) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
  <DataField name="x1" optype="continuous" dataType="double"/><DataField name="x2" optype="continuous" dataType="double"/>
  <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
<TreeModel functionName="regression" missingValueStrategy="defaultChild">
  <MiningSchema><MiningField name="x1"/><MiningField name="x2"/><MiningField name="y" usageType="target"/></MiningSchema>
  <Targets><Target field="y" rescaleFactor="2"/></Targets>
  <Node recordCount="10"><True/>
    <Node recordCount="4" defaultChild="a"><SimplePredicate field="x1" operator="lessThan" value="1"/>
      <Node id="a" score="1" recordCount="1"><SimplePredicate field="x2" operator="lessThan" value="0"/></Node>
      <Node id="b" score="3" recordCount="3"><SimplePredicate field="x2" operator="greaterOrEqual" value="0"/></Node></Node>
    <Node recordCount="6"><SimplePredicate field="x1" operator="greaterOrEqual" value="1"/>
      <Node score="5" recordCount="2"><SimplePredicate field="x1" operator="lessThan" value="2"/></Node>
      <Node score="8" recordCount="4"><SimplePredicate field="x1" operator="greaterOrEqual" value="2"/></Node></Node>
  </Node></TreeModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "tree.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->exact_method(), "tree_shap") << (*model)->no_exact_reason();
  const double rows[] = {0.5, 1, 1.5, std::numeric_limits<double>::quiet_NaN()};
  auto explained = (*model)->Explain(rows, 2);
  ASSERT_TRUE(explained.has_value()) << explained.error().message;
  EXPECT_EQ(explained->space, "identity");
  ASSERT_EQ(explained->columns.size(), 1u);
  const auto& c = explained->columns[0];
  const double expected[] = {-2.55, 0.35, 0.1, -0.3};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(c.values[i], 2 * expected[i], 1e-12) << i;
  EXPECT_NEAR(c.base[0], 10.4, 1e-12);
  EXPECT_NEAR(c.base[1], 10.4, 1e-12);
}

// A generalized linear model of log link, linear in its covariates: contributions beta * x against
// an all-zero reference, the intercept the base, in log space (the mean is the exp of the sum).
TEST(Pmml, GeneralRegressionOfCovariatesIsExplainedExactly) {
  constexpr const char* kDoc = R"(<PMML version="4.4"><DataDictionary>
    <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <GeneralRegressionModel modelType="generalizedLinear" functionName="regression" linkFunction="log">
    <MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="y" usageType="target"/></MiningSchema>
    <ParameterList><Parameter name="p0"/><Parameter name="p1"/><Parameter name="p2"/></ParameterList>
    <CovariateList><Predictor name="a"/><Predictor name="b"/></CovariateList>
    <PPMatrix><PPCell value="1" predictorName="a" parameterName="p1"/><PPCell value="1" predictorName="b" parameterName="p2"/></PPMatrix>
    <ParamMatrix><PCell parameterName="p0" beta="0.5"/><PCell parameterName="p1" beta="2"/><PCell parameterName="p2" beta="-1"/></ParamMatrix>
  </GeneralRegressionModel></PMML>)";
  auto model = CompiledPmml::Compile(kDoc, "glm.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->exact_method(), "linear") << (*model)->no_exact_reason();
  const double rows[] = {0.3, 1.5};
  auto explained = (*model)->Explain(rows, 1);
  ASSERT_TRUE(explained.has_value()) << explained.error().message;
  EXPECT_EQ(explained->space, "log");
  ASSERT_EQ(explained->columns.size(), 1u);
  EXPECT_NEAR(explained->columns[0].values[0], 0.6, 1e-15);
  EXPECT_NEAR(explained->columns[0].values[1], -1.5, 1e-15);
  EXPECT_NEAR(explained->columns[0].base[0], 0.5, 1e-15);
  double out[1];
  ASSERT_TRUE((*model)->Evaluate(rows, 1, out).has_value());
  EXPECT_NEAR(out[0], std::exp(0.5 + 0.6 - 1.5), 1e-12);  // the exp of base + contributions
}

// Documents ferry cannot explain exactly say why (they are explained by KernelSHAP instead).
TEST(Pmml, DocumentsWithoutAnExactExplainerSayWhatStandsInTheWay) {
  constexpr const char* kUncounted = R"(<PMML version="4.4"><DataDictionary>
  <DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
<TreeModel functionName="regression"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
  <Node><True/><Node score="1"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
    <Node score="2"><SimplePredicate field="x" operator="greaterOrEqual" value="0"/></Node></Node></TreeModel></PMML>)";
  auto uncounted = CompiledPmml::Compile(kUncounted, "t.pmml");
  ASSERT_TRUE(uncounted.has_value()) << uncounted.error().message;
  EXPECT_EQ((*uncounted)->exact_method(), "");
  EXPECT_NE((*uncounted)->no_exact_reason().find("recordCount"), std::string::npos) << (*uncounted)->no_exact_reason();
  const double row[] = {1};
  EXPECT_FALSE((*uncounted)->Explain(row, 1).has_value());
  auto logit = CompiledPmml::Compile(kPimaLogit, "pima.pmml");
  ASSERT_TRUE(logit.has_value());
  EXPECT_NE((*logit)->no_exact_reason().find("derived field"), std::string::npos) << (*logit)->no_exact_reason();
}

}  // namespace
}  // namespace ferry::backends::pmml
