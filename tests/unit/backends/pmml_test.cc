// ferry's PMML evaluator: documents compiled and evaluated, answers computed by hand here.
#include "backends/pmml/pmml_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

double PimaByHand(double preg, double plas, double mass, double pedi, double age) {
  const double z = -3.3259427586269217 + 0.12 * preg + 0.035 * plas - 1.5 * std::log1p(mass) + 0.9 * pedi + 0.015 * age;
  return 1 / (1 + std::exp(-z));
}

TEST(Pmml, TheLogisticRegressionWithLog1pGivesTheProbabilityComputedByHand) {
  auto model = CompiledPmml::Compile(kPimaLogit, "pima.pmml");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->inputs(), (std::vector<std::string>{"preg", "plas", "mass", "pedi", "age"}));
  ASSERT_TRUE((*model)->classification());
  EXPECT_EQ((*model)->categories(), (std::vector<std::string>{"1", "0"}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rows[] = {6, 148, 33.6, 0.627, 50,  //
                         1, 85, nan, 0.351, 31};   // mass missing: replaced by 32
  double out[4];
  (*model)->Evaluate(rows, 2, out);
  EXPECT_NEAR(out[0], PimaByHand(6, 148, 33.6, 0.627, 50), 1e-12);
  EXPECT_NEAR(out[1], 1 - out[0], 1e-12);
  EXPECT_NEAR(out[2], PimaByHand(1, 85, 32.0, 0.351, 31), 1e-12);
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
  (*model)->Evaluate(rows, 2, out);
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
  double p[3];
  (*model)->Evaluate(x, 1, p);
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
  double p[10];
  (*model)->Evaluate(rows, 5, p);
  EXPECT_DOUBLE_EQ(p[0], 0.75);
  EXPECT_DOUBLE_EQ(p[1], 0.25);
  EXPECT_EQ(p[2], 0.0);
  EXPECT_EQ(p[3], 1.0);
  EXPECT_EQ(p[4], 1.0);
  EXPECT_EQ(p[5], 0.0);
  EXPECT_EQ(p[7], 1.0);
  EXPECT_TRUE(std::isnan(p[8]));
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
  (*model)->Evaluate(x, 4, y);
  EXPECT_EQ(y[0], 1.5);
  EXPECT_EQ(y[1], 10);
  EXPECT_EQ(y[2], 20);
  EXPECT_EQ(y[3], 1.5);  // missing: lastPrediction
}

TEST(Pmml, UnsupportedElementsAndFunctionsAreRefusedWithTheirLine) {
  auto mining = CompiledPmml::Compile("<PMML>\n<DataDictionary/>\n<MiningModel functionName=\"classification\"/>\n</PMML>",
                                      "t.pmml");
  ASSERT_FALSE(mining.has_value());
  EXPECT_EQ(mining.error().message, "t.pmml:3: <MiningModel>: not supported by ferry's PMML evaluator");
  auto function = CompiledPmml::Compile(R"(<PMML><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<TransformationDictionary><DerivedField name="d">
<Apply function="x-fancy"><FieldRef field="x"/></Apply></DerivedField></TransformationDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
<RegressionTable intercept="0"/></RegressionModel></PMML>)",
                                        "f.pmml");
  ASSERT_FALSE(function.has_value());
  EXPECT_EQ(function.error().message, "f.pmml:3: <Apply>: function 'x-fancy' is not supported");
  auto field = CompiledPmml::Compile(R"(<PMML><DataDictionary><DataField name="x" optype="continuous"/></DataDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/></MiningSchema>
<RegressionTable intercept="0"><NumericPredictor name="y" coefficient="1"/></RegressionTable></RegressionModel></PMML>)",
                                     "n.pmml");
  ASSERT_FALSE(field.has_value());
  EXPECT_NE(field.error().message.find("n.pmml:3: <NumericPredictor>: field 'y' is not an active or derived field"),
            std::string::npos)
      << field.error().message;
  auto xml = CompiledPmml::Compile("<PMML><DataDictionary>", "x.pmml");
  ASSERT_FALSE(xml.has_value());
  EXPECT_NE(xml.error().message.find("not valid XML"), std::string::npos);
}

}  // namespace
}  // namespace ferry::backends::pmml
