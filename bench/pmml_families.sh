#!/usr/bin/env bash
# ferry's PMML evaluator on one realistic document of each model family (issue 17's list): a
# 2-hidden-layer network of 32 units, an RBF SVM of about 50 support vectors, a Gaussian naive
# Bayes (fitted by scikit-learn and written by scripts/sklearn_to_pmml.py), a 100-rule rule set, a
# scorecard of 10 characteristics and a logit GLM of 20 parameters (generated here), and a
# 4-cluster k-means. In-process rows/s on one core
# (bench/pmml_loop.cc) at 1 and 64 rows a call, beside scikit-learn's own predict() on the same
# model at 1 and 64 rows (the MLP, SVM and k-means). Appends to docs/benchmarks.md.
#
#   bench/pmml_families.sh [--seconds 3] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=3 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The documents, and scikit-learn's rows/s on its own models.
/usr/bin/python3 -W ignore - "$work" "$seconds" > "$work/sklearn.txt" <<'PY'
import subprocess, sys, time
import joblib
import numpy as np
from sklearn.cluster import KMeans
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

work, seconds = sys.argv[1], float(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.normal(size=(600, 8))
y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
models = {
    "mlp-32x32": MLPClassifier((32, 32), max_iter=200, random_state=0).fit(x, y),
    "svm-rbf": SVC(kernel="rbf", C=100, gamma=0.05).fit(x[:120], y[:120]),
    "kmeans-4": KMeans(n_clusters=4, n_init=3, random_state=0).fit(x),
    "naive-bayes": GaussianNB().fit(x, y),
}
for name, model in models.items():
    joblib.dump(model, f"{work}/{name}.joblib")
    subprocess.run(["/usr/bin/python3", "scripts/sklearn_to_pmml.py", f"{work}/{name}.joblib", f"{work}/{name}.pmml"],
                   check=True)
    for batch in (1, 64):
        rows, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.predict(x[:batch])
            rows += batch
        print(name, batch, round(rows / (time.perf_counter() - start)))
print("svm-rbf-vectors", len(models["svm-rbf"].support_vectors_), 0)

# A rule set of 100 rules (firstHit) over 8 fields, and a scorecard of 10 characteristics.
fields = "".join(f'<DataField name="f{i}" optype="continuous" dataType="double"/>' for i in range(8))
schema = "".join(f'<MiningField name="f{i}"/>' for i in range(8))
rules = []
for r in range(100):
    a, b = rng.integers(0, 8, 2)
    rules.append(f'<SimpleRule id="r{r}" score="{"AB"[r % 2]}" weight="{rng.random():.3f}"><CompoundPredicate booleanOperator="and">'
                 f'<SimplePredicate field="f{a}" operator="greaterThan" value="{rng.uniform(40, 100):.2f}"/>'
                 f'<SimplePredicate field="f{b}" operator="lessThan" value="{rng.uniform(0, 60):.2f}"/></CompoundPredicate></SimpleRule>')
open(f"{work}/rules-100.pmml", "w").write(
    f'<PMML version="4.4"><DataDictionary>{fields}<DataField name="y" optype="categorical" dataType="string">'
    f'<Value value="A"/><Value value="B"/></DataField></DataDictionary><RuleSetModel functionName="classification">'
    f'<MiningSchema>{schema}<MiningField name="y" usageType="target"/></MiningSchema><RuleSet defaultScore="B">'
    f'<RuleSelectionMethod criterion="firstHit"/>{"".join(rules)}</RuleSet></RuleSetModel></PMML>')
characteristics = []
for c in range(10):
    bins = "".join(f'<Attribute partialScore="{k * 3 + c}" reasonCode="RC{c}k{k}"><SimplePredicate field="f{c % 8}" '
                   f'operator="lessThan" value="{(k + 1) * 20}"/></Attribute>' for k in range(4))
    characteristics.append(f'<Characteristic name="c{c}" reasonCode="RC{c}" baselineScore="6">{bins}'
                           f'<Attribute partialScore="15"><True/></Attribute></Characteristic>')
open(f"{work}/scorecard-10.pmml", "w").write(
    f'<PMML version="4.4"><DataDictionary>{fields}<DataField name="s" optype="continuous" dataType="double"/>'
    f'</DataDictionary><Scorecard functionName="regression" useReasonCodes="true" reasonCodeAlgorithm="pointsBelow">'
    f'<MiningSchema>{schema}<MiningField name="s" usageType="predicted"/></MiningSchema><Output>'
    f'<OutputField name="rc1" feature="reasonCode" rank="1"/><OutputField name="rc2" feature="reasonCode" rank="2"/>'
    f'</Output><Characteristics>{"".join(characteristics)}</Characteristics></Scorecard></PMML>')

# A logit GLM of 20 parameters: the intercept, the 8 fields, their squares and 3 interactions.
terms = [[]] + [[(i, 1)] for i in range(8)] + [[(i, 2)] for i in range(8)] + [[(0, 1), (1, 1)], [(2, 1), (3, 1)], [(4, 1), (5, 1)]]
cells = "".join(f'<PPCell value="{e}" predictorName="f{i}" parameterName="p{p}"/>' for p, t in enumerate(terms) for i, e in t)
betas = "".join(f'<PCell parameterName="p{p}" beta="{rng.normal(scale=0.3):.6f}"/>' for p in range(len(terms)))
parameters = "".join(f'<Parameter name="p{p}"/>' for p in range(len(terms)))
covariates = "".join(f'<Predictor name="f{i}"/>' for i in range(8))
open(f"{work}/glm-20.pmml", "w").write(
    f'<PMML version="4.4"><DataDictionary>{fields}<DataField name="r" optype="continuous" dataType="double"/>'
    f'</DataDictionary><GeneralRegressionModel functionName="regression" modelType="generalizedLinear" linkFunction="logit">'
    f'<MiningSchema>{schema}<MiningField name="r" usageType="target"/></MiningSchema><ParameterList>'
    f'{parameters}</ParameterList><CovariateList>{covariates}</CovariateList>'
    f'<PPMatrix>{cells}</PPMatrix><ParamMatrix>{betas}</ParamMatrix></GeneralRegressionModel></PMML>')
PY

vectors=$(awk '$1 == "svm-rbf-vectors" {print $2}' "$work/sklearn.txt")
rows=()
for doc in mlp-32x32 svm-rbf kmeans-4 naive-bayes rules-100 scorecard-10 glm-20; do
  for batch in 1 64; do
    read -r _ _ _ rate _ < <("$build/ferry_bench_pmml_loop" "$work/$doc.pmml" "$batch" "$seconds" | grep '^RESULT')
    sk=$(awk -v d="$doc" -v b="$batch" '$1 == d && $2 == b {print $3}' "$work/sklearn.txt")
    ratio=""
    [ -n "$sk" ] && ratio=$(awk -v a="$rate" -v b="$sk" 'BEGIN {printf "%.1f", a / b}')
    rows+=("| $doc | $batch | $rate | ${sk:-} | ${ratio} |")
    echo "${rows[-1]}"
  done
done

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD): \`bench/pmml_families.sh --seconds $seconds\`"
    echo
    echo "In-process rows/s of ferry's PMML evaluator on one core, one document a family (the SVM has"
    echo "$vectors support vectors), beside scikit-learn's predict() on the model the document was written from:"
    echo
    echo "| document | rows a call | ferry rows/s | scikit-learn rows/s | ratio |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "PMML model families"
  echo "appended to docs/benchmarks.md"
fi
