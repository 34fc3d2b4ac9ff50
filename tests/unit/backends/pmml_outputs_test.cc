// ferry's PMML evaluator: the output features models give of their own (entityId, confidence,
// clusterId, affinity, standardError), decisions, and clustering by similarity; answers computed
// by hand here from the PMML 4.4 specification.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/pmml/pmml_model.h"

namespace ferry::backends::pmml {
namespace {

std::unique_ptr<CompiledPmml> MustCompile(const std::string& xml) {
  auto model = CompiledPmml::Compile(xml, "t.pmml");
  EXPECT_TRUE(model.has_value()) << model.error().message;
  return model ? std::move(*model) : nullptr;
}

// A classification tree's answering Node: its id (its pre-order place from 1 without one) and
// the confidence of the predicted category, or of the category `value` names.
TEST(PmmlOutputs, TreeNodesGiveTheirIdAndConfidence) {
  const auto model = MustCompile(R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField></DataDictionary>
  <TreeModel functionName="classification"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output><OutputField name="node" feature="entityId"/><OutputField name="conf" feature="confidence" dataType="double"/>
      <OutputField name="conf_a" feature="confidence" value="a" dataType="double"/></Output>
    <Node id="root"><True/>
      <Node id="L" score="a"><SimplePredicate field="x" operator="lessThan" value="1"/>
        <ScoreDistribution value="a" recordCount="3" confidence="0.6"/><ScoreDistribution value="b" recordCount="1" confidence="0.2"/></Node>
      <Node score="b"><SimplePredicate field="x" operator="greaterOrEqual" value="1"/>
        <ScoreDistribution value="a" recordCount="1" confidence="0.1"/><ScoreDistribution value="b" recordCount="4" confidence="0.7"/></Node>
    </Node></TreeModel></PMML>)");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->outputs().size(), 3U);
  EXPECT_TRUE(model->outputs()[0].is_string);
  const double rows[] = {0.5, 2, std::nan("")};
  double out[18];  // P(a), P(b), predicted, node, conf, conf_a
  ASSERT_TRUE(model->Evaluate(rows, 3, out).has_value());
  EXPECT_EQ(model->Decode(out[3]), "L");
  EXPECT_EQ(out[4], 0.6);
  EXPECT_EQ(out[5], 0.6);
  EXPECT_EQ(model->Decode(out[9]), "3");  // no id: the third node in pre-order
  EXPECT_EQ(out[10], 0.7);
  EXPECT_EQ(out[11], 0.1);
  EXPECT_TRUE(std::isnan(out[15]));  // no prediction (x missing): no node
  EXPECT_TRUE(std::isnan(out[16]));
}

// A regression tree (the flat walk) answers its leaf's id as a number when the OutputField's
// dataType is one.
TEST(PmmlOutputs, RegressionTreeLeafIdsAsNumbers) {
  const auto model = MustCompile(R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <TreeModel functionName="regression"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output><OutputField name="leaf" feature="entityId" dataType="integer"/></Output>
    <Node id="1"><True/>
      <Node id="12" score="5"><SimplePredicate field="x" operator="lessThan" value="1"/></Node>
      <Node id="13" score="7"><SimplePredicate field="x" operator="greaterOrEqual" value="1"/></Node>
    </Node></TreeModel></PMML>)");
  ASSERT_TRUE(model);
  EXPECT_FALSE(model->outputs()[0].is_string);
  const double rows[] = {0, 4};
  double out[4];
  ASSERT_TRUE(model->Evaluate(rows, 2, out).has_value());
  EXPECT_EQ(std::vector<double>(out, out + 4), (std::vector<double>{5, 12, 7, 13}));
}

// Rules: the winning rule's id and confidence; the default score's defaultConfidence.
TEST(PmmlOutputs, RulesGiveTheWinnersIdAndConfidence) {
  const auto model = MustCompile(R"(<PMML version="4.4"><DataDictionary>
    <DataField name="bp" optype="continuous" dataType="double"/>
    <DataField name="drug" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/></DataField></DataDictionary>
  <RuleSetModel functionName="classification"><MiningSchema><MiningField name="bp"/><MiningField name="drug" usageType="target"/></MiningSchema>
    <Output><OutputField name="rule" feature="entityId"/><OutputField name="conf" feature="confidence" dataType="double"/></Output>
    <RuleSet defaultScore="B" defaultConfidence="0.3"><RuleSelectionMethod criterion="firstHit"/>
      <SimpleRule id="high" score="A" confidence="0.9"><SimplePredicate field="bp" operator="greaterThan" value="140"/></SimpleRule>
      <SimpleRule score="B" confidence="0.8"><SimplePredicate field="bp" operator="lessThan" value="90"/></SimpleRule>
    </RuleSet></RuleSetModel></PMML>)");
  ASSERT_TRUE(model);
  const double rows[] = {150, 80, 120};
  double out[15];  // P(A), P(B), predicted, rule, conf
  ASSERT_TRUE(model->Evaluate(rows, 3, out).has_value());
  EXPECT_EQ(model->Decode(out[3]), "high");
  EXPECT_EQ(out[4], 0.9);
  EXPECT_EQ(model->Decode(out[8]), "2");  // no id: its place among the rules
  EXPECT_EQ(out[9], 0.8);
  EXPECT_TRUE(std::isnan(out[13]));  // the default score is no rule
  EXPECT_EQ(out[14], 0.3);
}

std::string ClusteringDocument(const std::string& measure, const std::string& fields, const std::string& clusters) {
  return fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/>
      <DataField name="c" optype="continuous" dataType="double"/><DataField name="d" optype="continuous" dataType="double"/></DataDictionary>
    <ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="2">
      <MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="c"/><MiningField name="d"/></MiningSchema>
      <Output><OutputField name="id" feature="clusterId" dataType="integer"/><OutputField name="entity" feature="entityId"/>
        <OutputField name="affinity" feature="affinity" dataType="double"/>
        <OutputField name="to_first" feature="affinity" value="first" dataType="double"/></Output>
      {}{}{}
    </ClusteringModel></PMML>)",
                     measure, fields, clusters);
}

// Distances: the nearest cluster's place and id, the distance to it and to a named cluster.
TEST(PmmlOutputs, ClustersGiveTheirIdAndAffinity) {
  const auto model = MustCompile(ClusteringDocument(
      R"(<ComparisonMeasure kind="distance"><euclidean/></ComparisonMeasure>)",
      R"(<ClusteringField field="a"/><ClusteringField field="b"/><ClusteringField field="c"/><ClusteringField field="d"/>)",
      R"(<Cluster id="first"><Array n="4" type="real">0 0 0 0</Array></Cluster>
         <Cluster id="second"><Array n="4" type="real">3 4 0 0</Array></Cluster>)"));
  ASSERT_TRUE(model);
  const double rows[] = {2, 3, 0, 0};
  double out[7];  // P(first), P(second), predicted, id, entity, affinity, to_first
  ASSERT_TRUE(model->Evaluate(rows, 1, out).has_value());
  EXPECT_EQ(out[2], 1.0);
  EXPECT_EQ(out[3], 2.0);
  EXPECT_EQ(model->Decode(out[4]), "second");
  EXPECT_DOUBLE_EQ(out[5], std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(out[6], std::sqrt(13.0));
}

// Similarity measures over binary values: the row (1, 1, 1, 0) against the centers (1, 1, 0, 0)
// (a11 = 2, a10 = 1, a01 = 0, a00 = 1) and (1, 0, 1, 1) (a11 = 2, a10 = 1, a01 = 1, a00 = 0):
// the most similar wins, the affinity is the similarity.
TEST(PmmlOutputs, ClusteringBySimilarity) {
  struct Case {
    const char* measure;
    double first, second;
  };
  const Case cases[] = {
      {"<simpleMatching/>", 3.0 / 4, 2.0 / 4},
      {"<jaccard/>", 2.0 / 3, 2.0 / 4},
      {"<tanimoto/>", 3.0 / 5, 2.0 / 6},
      {R"(<binarySimilarity c00-parameter="0" c01-parameter="0" c10-parameter="0" c11-parameter="1"
           d00-parameter="0" d01-parameter="1" d10-parameter="1" d11-parameter="1"/>)", 2.0 / 3, 2.0 / 4},
  };
  for (const auto& c : cases) {
    const auto model = MustCompile(ClusteringDocument(
        fmt::format(R"(<ComparisonMeasure kind="similarity">{}</ComparisonMeasure>)", c.measure),
        R"(<ClusteringField field="a"/><ClusteringField field="b"/><ClusteringField field="c"/><ClusteringField field="d"/>)",
        R"(<Cluster id="first"><Array n="4" type="real">1 1 0 0</Array></Cluster>
           <Cluster id="second"><Array n="4" type="real">1 0 1 1</Array></Cluster>)"));
    ASSERT_TRUE(model) << c.measure;
    const double rows[] = {1, 1, 1, 0};
    double out[7];
    ASSERT_TRUE(model->Evaluate(rows, 1, out).has_value());
    EXPECT_EQ(out[3], 1.0) << c.measure;
    EXPECT_DOUBLE_EQ(out[5], c.first) << c.measure;
    EXPECT_DOUBLE_EQ(out[6], c.first) << c.measure;
  }
  // A similarity measure under kind="distance" is refused, naming both.
  auto wrong = CompiledPmml::Compile(
      ClusteringDocument(R"(<ComparisonMeasure kind="distance"><jaccard/></ComparisonMeasure>)",
                         R"(<ClusteringField field="a"/>)", R"(<Cluster><Array n="1" type="real">1</Array></Cluster>)"),
      "t.pmml");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().message.find("jaccard is not a distance measure"), std::string::npos) << wrong.error().message;
}

// A MiningModel of functionName clustering: selectFirst picks a ClusteringModel by a predicate,
// and its clusterId, entityId and affinity are the MiningModel's outputs.
TEST(PmmlOutputs, ClusteringMiningModelSelectsASegmentsClusters) {
  const auto model = MustCompile(R"(<PMML version="4.4"><DataDictionary>
    <DataField name="region" optype="categorical" dataType="string"><Value value="north"/><Value value="south"/></DataField>
    <DataField name="a" optype="continuous" dataType="double"/></DataDictionary>
  <MiningModel functionName="clustering"><MiningSchema><MiningField name="region"/><MiningField name="a"/></MiningSchema>
    <Output><OutputField name="id" feature="clusterId" dataType="integer"/><OutputField name="entity" feature="entityId"/>
      <OutputField name="affinity" feature="affinity" dataType="double"/></Output>
    <Segmentation multipleModelMethod="selectFirst">
      <Segment><SimplePredicate field="region" operator="equal" value="north"/>
        <ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="2">
          <MiningSchema><MiningField name="a"/></MiningSchema>
          <ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure><ClusteringField field="a"/>
          <Cluster id="n1"><Array n="1" type="real">0</Array></Cluster><Cluster id="n2"><Array n="1" type="real">10</Array></Cluster>
        </ClusteringModel></Segment>
      <Segment><True/>
        <ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="2">
          <MiningSchema><MiningField name="a"/></MiningSchema>
          <ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure><ClusteringField field="a"/>
          <Cluster id="s1"><Array n="1" type="real">5</Array></Cluster><Cluster id="s2"><Array n="1" type="real">-5</Array></Cluster>
        </ClusteringModel></Segment>
    </Segmentation></MiningModel></PMML>)");
  ASSERT_TRUE(model);
  EXPECT_EQ(model->categories(), (std::vector<std::string>{"n1", "n2", "s1", "s2"}));
  const double rows[] = {model->Encode("north"), 7, model->Encode("south"), -3};
  double out[16];  // four probabilities, predicted, id, entity, affinity
  ASSERT_TRUE(model->Evaluate(rows, 2, out).has_value());
  EXPECT_EQ(out[4], 1.0);  // n2
  EXPECT_EQ(out[5], 2.0);
  EXPECT_EQ(model->Decode(out[6]), "n2");
  EXPECT_EQ(out[7], 9.0);
  EXPECT_EQ(out[12], 3.0);  // s2
  EXPECT_EQ(out[13], 2.0);
  EXPECT_EQ(model->Decode(out[14]), "s2");
  EXPECT_EQ(out[15], 4.0);
}

// standardError from the PCovMatrix (given as a triangle): sqrt(x' C x) for a linear model, times
// the inverse link's slope for a generalized linear one. x = (1, 3), C = [[0.5, 0.1], [0.1, 0.2]]:
// x' C x = 0.5 + 2 * 0.1 * 3 + 0.2 * 9 = 2.9.
TEST(PmmlOutputs, StandardErrorFromTheCovarianceMatrix) {
  auto document = [](const char* type) {
    return fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
    <GeneralRegressionModel functionName="regression" {}>
      <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
      <Output><OutputField name="se" feature="standardError" dataType="double"/></Output>
      <ParameterList><Parameter name="p0"/><Parameter name="p1"/></ParameterList>
      <CovariateList><Predictor name="x"/></CovariateList>
      <PPMatrix><PPCell value="1" predictorName="x" parameterName="p1"/></PPMatrix>
      <PCovMatrix><PCovCell pRow="p0" pCol="p0" value="0.5"/><PCovCell pRow="p1" pCol="p0" value="0.1"/>
        <PCovCell pRow="p1" pCol="p1" value="0.2"/></PCovMatrix>
      <ParamMatrix><PCell parameterName="p0" beta="1"/><PCell parameterName="p1" beta="2"/></ParamMatrix>
    </GeneralRegressionModel></PMML>)",
                       type);
  };
  const double row[] = {3};
  double out[2];
  const auto linear = MustCompile(document(R"(modelType="regression")"));
  ASSERT_TRUE(linear);
  ASSERT_TRUE(linear->Evaluate(row, 1, out).has_value());
  EXPECT_DOUBLE_EQ(out[0], 7);
  EXPECT_DOUBLE_EQ(out[1], std::sqrt(2.9));
  const auto log = MustCompile(document(R"(modelType="generalizedLinear" linkFunction="log")"));
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Evaluate(row, 1, out).has_value());
  EXPECT_DOUBLE_EQ(out[0], std::exp(7));
  EXPECT_NEAR(out[1], std::sqrt(2.9) * std::exp(7), 1e-12 * out[1]);
}

// A decision is its expression's value; Decisions only lists them.
TEST(PmmlOutputs, DecisionsAreTheirExpressionsValue) {
  const auto model = MustCompile(R"(<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output><OutputField name="p" feature="predictedValue" dataType="double"/>
      <OutputField name="action" feature="decision" dataType="string">
        <Decisions><Decision value="approve"/><Decision value="refuse"/></Decisions>
        <Apply function="if"><Apply function="greaterThan"><FieldRef field="p"/><Constant>0.5</Constant></Apply>
          <Constant dataType="string">approve</Constant><Constant dataType="string">refuse</Constant></Apply>
      </OutputField></Output>
    <RegressionTable intercept="0"><NumericPredictor name="x" coefficient="1"/></RegressionTable>
  </RegressionModel></PMML>)");
  ASSERT_TRUE(model);
  const double rows[] = {0.9, 0.1};
  double out[6];
  ASSERT_TRUE(model->Evaluate(rows, 2, out).has_value());
  EXPECT_EQ(model->Decode(out[2]), "approve");
  EXPECT_EQ(model->Decode(out[5]), "refuse");
}

// A feature the model does not give is refused at load, with the line and who gives it.
TEST(PmmlOutputs, AFeatureTheModelDoesNotGiveIsRefusedAtLoad) {
  auto refused = CompiledPmml::Compile(R"(<PMML version="4.4"><DataDictionary>
<DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
<Output>
<OutputField name="e" feature="standardError"/></Output>
<RegressionTable intercept="0"/></RegressionModel></PMML>)",
                                       "r.pmml");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message,
            "r.pmml:5: <OutputField>: feature standardError is not given by this model (a GeneralRegressionModel "
            "with a PCovMatrix gives it)");
}

// CoxRegression: the cumulative hazard H0(t) exp(eta - sum beta referencePoint), H0 the last
// BaselineCell not after t; 0 before the first, no prediction after maxTime; survival exp(-H) as
// a transformedValue. Then the same model stratified.
TEST(PmmlCox, CumulativeHazardFromTheBaselineCells) {
  auto document = [](const char* strata, const char* tables) {
    return fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="x" optype="continuous" dataType="double"/><DataField name="t" optype="continuous" dataType="double"/>
      <DataField name="g" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField>
      <DataField name="s" optype="categorical" dataType="string"><Value value="m"/><Value value="f"/><Value value="x"/></DataField>
      <DataField name="h" optype="continuous" dataType="double"/></DataDictionary>
    <GeneralRegressionModel functionName="regression" modelType="CoxRegression" endTimeVariable="t" {}>
      <MiningSchema><MiningField name="x"/><MiningField name="t"/><MiningField name="g"/><MiningField name="s"/>
        <MiningField name="h" usageType="target"/></MiningSchema>
      <Output><OutputField name="hazard" feature="predictedValue" dataType="double"/>
        <OutputField name="survival" feature="transformedValue" dataType="double"><Apply function="exp">
          <Apply function="*"><Constant>-1</Constant><FieldRef field="hazard"/></Apply></Apply></OutputField></Output>
      <ParameterList><Parameter name="p1" referencePoint="2"/><Parameter name="p2"/></ParameterList>
      <FactorList><Predictor name="g"/></FactorList><CovariateList><Predictor name="x"/></CovariateList>
      <PPMatrix><PPCell value="1" predictorName="x" parameterName="p1"/><PPCell value="b" predictorName="g" parameterName="p2"/></PPMatrix>
      <ParamMatrix><PCell parameterName="p1" beta="0.5"/><PCell parameterName="p2" beta="-0.3"/></ParamMatrix>
      <BaseCumHazardTables {}</BaseCumHazardTables>
    </GeneralRegressionModel></PMML>)",
                       strata, tables);
  };
  const auto plain = MustCompile(document(
      "", R"(maxTime="6"><BaselineCell time="3" cumHazard="0.4"/><BaselineCell time="1" cumHazard="0.1"/>
             <BaselineCell time="5" cumHazard="0.9"/>)"));
  ASSERT_TRUE(plain);
  const double b = plain->Encode("b"), a = plain->Encode("a"), m = plain->Encode("m");
  const double rows[] = {4, 3.5, b, m,   // eta - ref = 2 - 0.3 - 1 = 0.7, H0 = 0.4
                         4, 0.5, b, m,   // before the first cell: 0
                         4, 7, b, m,     // after maxTime: none
                         1, 5, a, m};    // eta - ref = 0.5 - 1, H0 = 0.9
  double out[12];
  ASSERT_TRUE(plain->Evaluate(rows, 4, out).has_value());
  EXPECT_DOUBLE_EQ(out[0], 0.4 * std::exp(0.7));
  EXPECT_DOUBLE_EQ(out[2], std::exp(-out[0]));
  EXPECT_EQ(out[3], 0.0);
  EXPECT_EQ(out[5], 1.0);
  EXPECT_TRUE(std::isnan(out[6]));
  EXPECT_DOUBLE_EQ(out[9], 0.9 * std::exp(-0.5));
  const auto stratified = MustCompile(document(
      R"(baselineStrataVariable="s")",
      R"(><BaselineStratum value="m" maxTime="4"><BaselineCell time="2" cumHazard="0.2"/></BaselineStratum>
          <BaselineStratum value="f" maxTime="10"><BaselineCell time="1" cumHazard="0.05"/><BaselineCell time="5" cumHazard="0.5"/>
          </BaselineStratum>)"));
  ASSERT_TRUE(stratified);
  const double f = stratified->Encode("f"), x = stratified->Encode("x");
  const double strata_rows[] = {4, 6, b, f, 4, 6, b, m, 4, 3, b, m, 4, 3, b, x};
  ASSERT_TRUE(stratified->Evaluate(strata_rows, 4, out).has_value());
  EXPECT_DOUBLE_EQ(out[0], 0.5 * std::exp(0.7));
  EXPECT_TRUE(std::isnan(out[3]));  // past the stratum m's maxTime
  EXPECT_DOUBLE_EQ(out[6], 0.2 * std::exp(0.7));
  EXPECT_TRUE(std::isnan(out[9]));  // no BaselineStratum for x
}

// A factor coded by a contrast matrix (effect coding, c the reference): a PPCell of level l
// gives the row's value v the entry M[v][l].
TEST(PmmlContrast, FactorsCodedByTheirContrastMatrix) {
  auto document = [](const char* matrix) {
    return fmt::format(R"(<PMML version="4.4"><DataDictionary>
      <DataField name="g" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/><Value value="c"/></DataField>
      <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
    <GeneralRegressionModel functionName="regression" modelType="generalLinear">
      <MiningSchema><MiningField name="g"/><MiningField name="y" usageType="target"/></MiningSchema>
      <ParameterList><Parameter name="p0"/><Parameter name="p1"/><Parameter name="p2"/></ParameterList>
      <FactorList><Predictor name="g" contrastMatrixType="deviation">
        <Categories><Category value="a"/><Category value="b"/><Category value="c"/></Categories>{}</Predictor></FactorList>
      <PPMatrix><PPCell value="a" predictorName="g" parameterName="p1"/><PPCell value="b" predictorName="g" parameterName="p2"/></PPMatrix>
      <ParamMatrix><PCell parameterName="p0" beta="10"/><PCell parameterName="p1" beta="2"/><PCell parameterName="p2" beta="3"/></ParamMatrix>
    </GeneralRegressionModel></PMML>)",
                       matrix);
  };
  for (const char* matrix : {R"(<Matrix nbRows="3" nbCols="3"><Array n="3" type="int">1 0 0</Array>
                                   <Array n="3" type="int">0 1 0</Array><Array n="3" type="int">-1 -1 0</Array></Matrix>)",
                             R"(<Matrix nbRows="3" nbCols="3" diagDefault="1" offDiagDefault="0">
                                   <MatCell row="3" col="1">-1</MatCell><MatCell row="3" col="2">-1</MatCell>
                                   <MatCell row="3" col="3">0</MatCell></Matrix>)"}) {
    const auto model = MustCompile(document(matrix));
    ASSERT_TRUE(model);
    const double rows[] = {model->Encode("a"), model->Encode("b"), model->Encode("c")};
    double out[3];
    ASSERT_TRUE(model->Evaluate(rows, 3, out).has_value());
    EXPECT_EQ(std::vector<double>(out, out + 3), (std::vector<double>{12, 13, 10 - 2 - 3})) << matrix;
  }
}

}  // namespace
}  // namespace ferry::backends::pmml
