#!/usr/bin/python3
"""Writes a fitted scikit-learn model as a PMML document that ferry's PMML backend serves.

    /usr/bin/python3 scripts/sklearn_to_pmml.py model.joblib model.pmml [--features a,b,c]

Needs python3-sklearn and python3-joblib (Debian). Supported:
- MLPClassifier and MLPRegressor: a NeuralNetwork (one NeuralInput a feature, a NeuralLayer a
  hidden layer with the model's activation, and the output layer: softmax over the classes, or
  for two classes the logistic neuron and a layer giving P(class 0) = 1 - P(class 1), or the
  identity for a regression);
- SVC and SVR (linear, poly, rbf and sigmoid kernels): a SupportVectorMachineModel, OneAgainstOne
  with one machine a pair of classes as libsvm votes (the decision values negated, since a PMML
  machine votes for its targetCategory below the threshold);
- KMeans: a center-based ClusteringModel (squared Euclidean distance), the clusters' ids being
  scikit-learn's labels 0, 1, ...;
- GaussianNB: a NaiveBayesModel (a GaussianDistribution a feature and class, the class counts as
  the BayesOutput; threshold 0: scikit-learn has no floor);
- LinearRegression, PoissonRegressor and LogisticRegression: a GeneralRegressionModel (regression;
  generalizedLinear with the log link; multinomialLogistic against the last class, or the first
  for two classes), one covariate a feature;
- DecisionTreeClassifier/Regressor: a TreeModel (x <= threshold to the left, as scikit-learn
  splits; a classification leaf's ScoreDistribution from its class counts), and
  RandomForestClassifier/Regressor: a MiningModel averaging such trees. scikit-learn compares
  float32 copies of the inputs with its thresholds: feed it float32-representable values to
  compare answers.
Every number is written as the shortest decimal that reads back as the same double, so ferry
computes what scikit-learn computes. The features are f0, f1, ... unless --features names them;
the target is y.
"""
import argparse
import sys
from xml.sax.saxutils import quoteattr

import joblib

ACTIVATIONS = {"relu": "rectifier", "tanh": "tanh", "logistic": "logistic", "identity": "identity"}


def num(value):
    return repr(float(value))


def layer(neurons, activation, prefix, inputs, coefs, intercepts, normalization=None):
    """One NeuralLayer: neuron j of `prefix` from each id in `inputs` with weight coefs[i][j]."""
    attrs = f'activationFunction="{activation}"'
    if normalization:
        attrs += f' normalizationMethod="{normalization}"'
    out = [f"    <NeuralLayer numberOfNeurons=\"{neurons}\" {attrs}>"]
    ids = []
    for j in range(neurons):
        ids.append(f"{prefix}{j}")
        cons = "".join(f'<Con from="{i}" weight="{num(coefs[k][j])}"/>' for k, i in enumerate(inputs))
        out.append(f'      <Neuron id="{prefix}{j}" bias="{num(intercepts[j])}">{cons}</Neuron>')
    out.append("    </NeuralLayer>")
    return out, ids


def mlp(model, features):
    from sklearn.neural_network import MLPClassifier
    classifier = isinstance(model, MLPClassifier)
    classes = [str(c) for c in model.classes_] if classifier else []
    lines = header(features, classes, "classification" if classifier else "regression")
    activation = ACTIVATIONS[model.activation]
    lines.append(f'  <NeuralNetwork functionName="{"classification" if classifier else "regression"}" '
                 f'activationFunction="{activation}">')
    lines.append("    <MiningSchema>" + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) +
                 '<MiningField name="y" usageType="target"/></MiningSchema>')
    lines.append("    <NeuralInputs>")
    for i, f in enumerate(features):
        lines.append(f'      <NeuralInput id="i{i}"><DerivedField optype="continuous" dataType="double">'
                     f"<FieldRef field={quoteattr(f)}/></DerivedField></NeuralInput>")
    lines.append("    </NeuralInputs>")
    ids = [f"i{i}" for i in range(len(features))]
    layers = len(model.coefs_)
    for n in range(layers - 1):
        out, ids = layer(model.coefs_[n].shape[1], activation, f"h{n}_", ids, model.coefs_[n], model.intercepts_[n])
        lines += out
    last_coefs, last_intercepts = model.coefs_[-1], model.intercepts_[-1]
    outputs = []
    if not classifier:
        out, ids = layer(1, "identity", "o", ids, last_coefs, last_intercepts)
        lines += out
        outputs.append((ids[0], '<FieldRef field="y"/>'))
    elif len(classes) == 2:
        out, p = layer(1, "logistic", "o", ids, last_coefs, last_intercepts)
        lines += out
        # P(class 0) = 1 - P(class 1), P(class 1) = p: an identity layer over the logistic neuron.
        lines.append('    <NeuralLayer numberOfNeurons="2" activationFunction="identity">')
        lines.append(f'      <Neuron id="p0" bias="1"><Con from="{p[0]}" weight="-1"/></Neuron>')
        lines.append(f'      <Neuron id="p1" bias="0"><Con from="{p[0]}" weight="1"/></Neuron>')
        lines.append("    </NeuralLayer>")
        outputs += [("p0", f'<NormDiscrete field="y" value={quoteattr(classes[0])}/>'),
                    ("p1", f'<NormDiscrete field="y" value={quoteattr(classes[1])}/>')]
    else:
        out, ids = layer(len(classes), "identity", "o", ids, last_coefs, last_intercepts, "softmax")
        lines += out
        outputs += [(ids[k], f'<NormDiscrete field="y" value={quoteattr(c)}/>') for k, c in enumerate(classes)]
    lines.append(f'    <NeuralOutputs numberOfOutputs="{len(outputs)}">')
    for neuron, expression in outputs:
        optype = 'optype="categorical" dataType="string"' if classifier else 'optype="continuous" dataType="double"'
        lines.append(f'      <NeuralOutput outputNeuron="{neuron}"><DerivedField {optype}>{expression}</DerivedField>'
                     "</NeuralOutput>")
    lines.append("    </NeuralOutputs>")
    lines.append("  </NeuralNetwork>")
    lines.append("</PMML>")
    return "\n".join(lines) + "\n"


def header(features, classes, function):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">',
             '  <Header description="scikit-learn model written by ferry\'s scripts/sklearn_to_pmml.py"/>',
             "  <DataDictionary>"]
    for f in features:
        lines.append(f'    <DataField name={quoteattr(f)} optype="continuous" dataType="double"/>')
    if function == "classification":
        values = "".join(f"<Value value={quoteattr(c)}/>" for c in classes)
        lines.append(f'    <DataField name="y" optype="categorical" dataType="string">{values}</DataField>')
    elif function == "regression":
        lines.append('    <DataField name="y" optype="continuous" dataType="double"/>')
    lines.append("  </DataDictionary>")
    return lines


def svm(model, features):
    from sklearn.svm import SVC
    classifier = isinstance(model, SVC)
    classes = [str(c) for c in model.classes_] if classifier else []
    function = "classification" if classifier else "regression"
    lines = header(features, classes, function)
    method = ' classificationMethod="OneAgainstOne"' if classifier else ""
    lines.append(f'  <SupportVectorMachineModel functionName="{function}"{method}>')
    lines.append("    <MiningSchema>" + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) +
                 '<MiningField name="y" usageType="target"/></MiningSchema>')
    gamma = num(model._gamma)
    if model.kernel == "linear":
        lines.append("    <LinearKernelType/>")
    elif model.kernel == "poly":
        lines.append(f'    <PolynomialKernelType gamma="{gamma}" coef0="{num(model.coef0)}" degree="{model.degree}"/>')
    elif model.kernel == "rbf":
        lines.append(f'    <RadialBasisKernelType gamma="{gamma}"/>')
    elif model.kernel == "sigmoid":
        lines.append(f'    <SigmoidKernelType gamma="{gamma}" coef0="{num(model.coef0)}"/>')
    else:
        sys.exit(f"kernel {model.kernel!r} is not supported (linear, poly, rbf, sigmoid are)")
    vectors = model.support_vectors_
    lines.append(f'    <VectorDictionary numberOfVectors="{len(vectors)}">')
    lines.append(f'      <VectorFields numberOfFields="{len(features)}">' +
                 "".join(f"<FieldRef field={quoteattr(f)}/>" for f in features) + "</VectorFields>")
    for i, v in enumerate(vectors):
        lines.append(f'      <VectorInstance id="{i}"><Array n="{len(v)}" type="real">{" ".join(num(x) for x in v)}'
                     "</Array></VectorInstance>")
    lines.append("    </VectorDictionary>")

    def machine(ids, coefficients, b, attrs=""):
        out = [f"    <SupportVectorMachine{attrs}>",
               f'      <SupportVectors numberOfSupportVectors="{len(ids)}">' +
               "".join(f'<SupportVector vectorId="{i}"/>' for i in ids) + "</SupportVectors>",
               f'      <Coefficients absoluteValue="{num(b)}">' +
               "".join(f'<Coefficient value="{num(c)}"/>' for c in coefficients) + "</Coefficients>",
               "    </SupportVectorMachine>"]
        return out

    dual, intercept = model.dual_coef_, model.intercept_
    if not classifier:
        lines += machine(range(len(vectors)), dual[0], intercept[0])
    elif len(classes) == 2:
        # scikit-learn's binary decision is > 0 for classes_[1]: PMML's f < 0 votes classes_[0].
        lines += machine(range(len(vectors)), dual[0], intercept[0],
                         f" targetCategory={quoteattr(classes[0])} alternateTargetCategory={quoteattr(classes[1])}")
    else:
        # libsvm's pairs (i, j), i < j, decide class i when sum + intercept > 0; the support vectors
        # are grouped by class, class i's weighted by dual_coef_[j - 1], class j's by dual_coef_[i].
        starts = [0]
        for n in model.n_support_:
            starts.append(starts[-1] + n)
        pair = 0
        for i in range(len(classes)):
            for j in range(i + 1, len(classes)):
                ids = list(range(starts[i], starts[i + 1])) + list(range(starts[j], starts[j + 1]))
                coefficients = [-dual[j - 1][k] for k in range(starts[i], starts[i + 1])] + \
                               [-dual[i][k] for k in range(starts[j], starts[j + 1])]
                lines += machine(ids, coefficients, -intercept[pair],
                                 f" targetCategory={quoteattr(classes[i])} alternateTargetCategory={quoteattr(classes[j])}")
                pair += 1
    lines.append("  </SupportVectorMachineModel>")
    lines.append("</PMML>")
    return "\n".join(lines) + "\n"


def kmeans(model, features):
    lines = header(features, [], "clustering")
    lines.append(f'  <ClusteringModel functionName="clustering" modelClass="centerBased" '
                 f'numberOfClusters="{len(model.cluster_centers_)}">')
    lines.append("    <MiningSchema>" + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) +
                 "</MiningSchema>")
    lines.append('    <ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure>')
    for f in features:
        lines.append(f'    <ClusteringField field={quoteattr(f)} compareFunction="absDiff"/>')
    for k, center in enumerate(model.cluster_centers_):
        lines.append(f'    <Cluster id="{k}"><Array n="{len(center)}" type="real">{" ".join(num(x) for x in center)}'
                     "</Array></Cluster>")
    lines.append("  </ClusteringModel>")
    lines.append("</PMML>")
    return "\n".join(lines) + "\n"


def gaussian_nb(model, features):
    classes = [str(c) for c in model.classes_]
    lines = header(features, classes, "classification")
    lines.append('  <NaiveBayesModel functionName="classification" threshold="0">')
    lines.append("    <MiningSchema>" + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) +
                 '<MiningField name="y" usageType="target"/></MiningSchema>')
    lines.append("    <BayesInputs>")
    variances = model.var_ if hasattr(model, "var_") else model.sigma_
    for i, f in enumerate(features):
        stats = "".join(f'<TargetValueStat value={quoteattr(c)}><GaussianDistribution mean="{num(model.theta_[k][i])}" '
                        f'variance="{num(variances[k][i])}"/></TargetValueStat>' for k, c in enumerate(classes))
        lines.append(f"      <BayesInput fieldName={quoteattr(f)}><TargetValueStats>{stats}</TargetValueStats></BayesInput>")
    lines.append("    </BayesInputs>")
    counts = "".join(f'<TargetValueCount value={quoteattr(c)} count="{num(model.class_count_[k])}"/>'
                     for k, c in enumerate(classes))
    lines.append(f'    <BayesOutput fieldName="y"><TargetValueCounts>{counts}</TargetValueCounts></BayesOutput>')
    lines.append("  </NaiveBayesModel>")
    lines.append("</PMML>")
    return "\n".join(lines) + "\n"


def glm(model, features):
    import numpy as np
    name = type(model).__name__
    classifier = name == "LogisticRegression"
    classes = [str(c) for c in model.classes_] if classifier else []
    lines = header(features, classes, "classification" if classifier else "regression")
    if classifier:
        kind = 'modelType="multinomialLogistic" functionName="classification"'
    elif name == "PoissonRegressor":
        kind = 'modelType="generalizedLinear" functionName="regression" linkFunction="log" distribution="poisson"'
    else:
        kind = 'modelType="regression" functionName="regression"'
    coef = np.atleast_2d(model.coef_)
    intercept = np.atleast_1d(model.intercept_)
    if classifier and len(classes) == 2:
        rows = [(classes[1], coef[0], intercept[0])]  # against the first class
        reference = classes[0]
    elif classifier:
        last = len(classes) - 1
        rows = [(classes[k], coef[k] - coef[last], intercept[k] - intercept[last]) for k in range(last)]
        reference = classes[last]
    else:
        rows = [(None, coef[0], intercept[0])]
        reference = None
    ref = f" targetReferenceCategory={quoteattr(reference)}" if reference else ""
    lines.append(f"  <GeneralRegressionModel {kind}{ref}>")
    lines.append("    <MiningSchema>" + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) +
                 '<MiningField name="y" usageType="target"/></MiningSchema>')
    lines.append('    <ParameterList><Parameter name="p0" label="Intercept"/>' +
                 "".join(f'<Parameter name="p{i + 1}"/>' for i in range(len(features))) + "</ParameterList>")
    lines.append("    <CovariateList>" + "".join(f"<Predictor name={quoteattr(f)}/>" for f in features) +
                 "</CovariateList>")
    lines.append("    <PPMatrix>" + "".join(f'<PPCell value="1" predictorName={quoteattr(f)} parameterName="p{i + 1}"/>'
                                            for i, f in enumerate(features)) + "</PPMatrix>")
    cells = []
    for category, weights, bias in rows:
        target = f" targetCategory={quoteattr(category)}" if category is not None else ""
        cells.append(f'<PCell{target} parameterName="p0" beta="{num(bias)}"/>')
        cells += [f'<PCell{target} parameterName="p{i + 1}" beta="{num(w)}"/>' for i, w in enumerate(weights)]
    lines.append("    <ParamMatrix>" + "".join(cells) + "</ParamMatrix>")
    lines.append("  </GeneralRegressionModel>")
    lines.append("</PMML>")
    return "\n".join(lines) + "\n"


def tree_nodes(tree, node, features, classes, indent, predicate):
    pad = "  " * indent
    t = tree.tree_
    value = t.value[node][0]
    if classes:
        score = f' score={quoteattr(classes[int(value.argmax())])}'
        dist = "".join(f'<ScoreDistribution value={quoteattr(c)} recordCount="{num(value[k])}"/>' for k, c in enumerate(classes))
    else:
        score, dist = f' score="{num(value[0])}"', ""
    # recordCount: the (weighted) training rows that reached the node, which TreeSHAP weighs by.
    lines = [f'{pad}<Node{score} recordCount="{num(t.weighted_n_node_samples[node])}">{predicate}{dist}']
    if t.children_left[node] != -1:
        field, threshold = quoteattr(features[t.feature[node]]), num(t.threshold[node])
        lines += tree_nodes(tree, t.children_left[node], features, classes, indent + 1,
                            f'<SimplePredicate field={field} operator="lessOrEqual" value="{threshold}"/>')
        lines += tree_nodes(tree, t.children_right[node], features, classes, indent + 1,
                            f'<SimplePredicate field={field} operator="greaterThan" value="{threshold}"/>')
    lines.append(f"{pad}</Node>")
    return lines


def tree_model(tree, features, classes, indent):
    pad = "  " * indent
    function = "classification" if classes else "regression"
    target = '<MiningField name="y" usageType="target"/>'
    lines = [f'{pad}<TreeModel functionName="{function}" missingValueStrategy="nullPrediction">',
             f"{pad}  <MiningSchema>" + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) + target +
             "</MiningSchema>"]
    lines += tree_nodes(tree, 0, features, classes, indent + 1, "<True/>")
    lines.append(f"{pad}</TreeModel>")
    return lines


def trees(model, features):
    name = type(model).__name__
    classes = [str(c) for c in model.classes_] if "Classifier" in name else []
    lines = header(features, classes, "classification" if classes else "regression")
    if name.startswith("DecisionTree"):
        lines += tree_model(model, features, classes, 1)
    else:
        function = "classification" if classes else "regression"
        lines.append(f'  <MiningModel functionName="{function}">')
        lines.append("    <MiningSchema>" + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) +
                     '<MiningField name="y" usageType="target"/></MiningSchema>')
        lines.append('    <Segmentation multipleModelMethod="average">')
        for k, estimator in enumerate(model.estimators_):
            lines.append(f'      <Segment id="{k}"><True/>')
            lines += tree_model(estimator, features, classes, 4)
            lines.append("      </Segment>")
        lines.append("    </Segmentation>")
        lines.append("  </MiningModel>")
    lines.append("</PMML>")
    return "\n".join(lines) + "\n"


WRITERS = {"MLPClassifier": "mlp", "MLPRegressor": "mlp", "SVC": "svm", "SVR": "svm", "KMeans": "kmeans",
           "DecisionTreeClassifier": "trees", "DecisionTreeRegressor": "trees", "RandomForestClassifier": "trees",
           "RandomForestRegressor": "trees",
           "GaussianNB": "gaussian_nb", "LinearRegression": "glm", "PoissonRegressor": "glm",
           "LogisticRegression": "glm"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a fitted estimator saved with joblib")
    parser.add_argument("pmml", help="the PMML file to write")
    parser.add_argument("--features", help="comma-separated feature names (default f0, f1, ...)")
    args = parser.parse_args()
    model = joblib.load(args.model)
    name = type(model).__name__
    if name not in WRITERS:
        sys.exit(f"{name} is not supported ({', '.join(WRITERS)} are)")
    if name == "MLPRegressor" and model.n_outputs_ != 1:
        sys.exit("an MLPRegressor with several outputs is not supported (a PMML model has one target)")
    count = model.n_features_in_
    features = args.features.split(",") if args.features else [f"f{i}" for i in range(count)]
    if len(features) != count:
        sys.exit(f"--features names {len(features)} features, the model has {count}")
    with open(args.pmml, "w") as f:
        f.write(globals()[WRITERS[name]](model, features))


if __name__ == "__main__":
    main()
