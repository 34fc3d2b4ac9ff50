#!/usr/bin/python3
"""Writes an XGBoost booster as a PMML document that ferry's PMML backend serves.

    /usr/bin/python3 scripts/xgboost_to_pmml.py model.json model.pmml [--features a,b,c]

Needs python3-xgboost (Debian). The trees become TreeModels in a MiningModel that sums them
(missing values follow XGBoost's default branch: missingValueStrategy defaultChild); the base
score is the sum's rescaleConstant. binary:logistic chains the sum into a logit RegressionModel,
multi:softprob sums each class's trees and chains them into a softmax RegressionModel; other
objectives are written as regressions of the margin plus base score (reg:squarederror and the
like). Split thresholds are written as the exact values of XGBoost's float32 thresholds, so
double comparisons branch as XGBoost's float ones do. Each Node's recordCount is XGBoost's cover
(the hessian sum of the training rows that reached it), which ferry's TreeSHAP weighs paths by,
so ferry explains the document as XGBoost's pred_contribs explains the booster.
"""
import argparse
import json
import math
import sys
from xml.sax.saxutils import quoteattr

import numpy as np
import xgboost as xgb


def exact(value):
    """The float32 value as the shortest decimal that reads back as that double."""
    return repr(float(np.float32(value)))


def field_of(split, features):
    """The feature a split tests: XGBoost dumps "f3" for unnamed features, else the name."""
    if split in features:
        return split
    return features[int(split[1:])]


def tree_nodes(node, features, out, indent):
    pad = "  " * indent
    if "leaf" in node:
        return
    field = field_of(node["split"], features)
    by_id = {c["nodeid"]: c for c in node["children"]}
    threshold = exact(node["split_condition"])
    for child_id, op in ((node["yes"], "lessThan"), (node["no"], "greaterOrEqual")):
        child = by_id[child_id]
        attrs = f'id="{child_id}" recordCount="{child["cover"]!r}"'
        if "leaf" in child:
            attrs += f' score="{exact(child["leaf"])}"'
        else:
            attrs += f' defaultChild="{child["missing"]}"'
        out.append(f'{pad}<Node {attrs}><SimplePredicate field={quoteattr(field)} operator="{op}" value="{threshold}"/>')
        tree_nodes(child, features, out, indent + 1)
        out.append(f"{pad}</Node>")


def tree_model(tree, features, indent):
    pad = "  " * indent
    used = sorted({field_of(s, features) for s in splits(tree)})
    out = [f'{pad}<TreeModel functionName="regression" missingValueStrategy="defaultChild" '
           f'noTrueChildStrategy="returnLastPrediction">',
           f'{pad}  <MiningSchema>' + "".join(f"<MiningField name={quoteattr(f)}/>" for f in used) + "</MiningSchema>"]
    if "leaf" in tree:
        out.append(f'{pad}  <Node score="{exact(tree["leaf"])}" recordCount="{tree["cover"]!r}"><True/></Node>')
    else:
        out.append(f'{pad}  <Node id="{tree["nodeid"]}" defaultChild="{tree["missing"]}" '
                   f'recordCount="{tree["cover"]!r}"><True/>')
        tree_nodes(tree, features, out, indent + 2)
        out.append(f"{pad}  </Node>")
    out.append(f"{pad}</TreeModel>")
    return out


def splits(node):
    if "leaf" in node:
        return []
    result = [node["split"]]
    for c in node["children"]:
        result += splits(c)
    return result


def tree_sum(trees, features, output, base, indent):
    pad = "  " * indent
    out = [f'{pad}<MiningModel functionName="regression">',
           f'{pad}  <MiningSchema>' + "".join(f"<MiningField name={quoteattr(f)}/>" for f in features) + "</MiningSchema>"]
    if output:
        out.append(f'{pad}  <Output><OutputField name={quoteattr(output)} optype="continuous" dataType="double" '
                   'isFinalResult="false"/></Output>')
    out.append(f'{pad}  <Targets><Target rescaleConstant="{base!r}"/></Targets>')
    out.append(f'{pad}  <Segmentation multipleModelMethod="sum">')
    for i, tree in enumerate(trees):
        out.append(f'{pad}    <Segment id="{i + 1}"><True/>')
        out += tree_model(tree, features, indent + 3)
        out.append(f"{pad}    </Segment>")
    out.append(f"{pad}  </Segmentation>")
    out.append(f"{pad}</MiningModel>")
    return out


def convert(booster, features):
    config = json.loads(booster.save_config())
    objective = config["learner"]["objective"]["name"]
    base_score = float(config["learner"]["learner_model_param"]["base_score"])
    num_class = int(config["learner"]["learner_model_param"].get("num_class", "0"))
    trees = [json.loads(t) for t in booster.get_dump(dump_format="json", with_stats=True)]
    fields = "".join(f'    <DataField name={quoteattr(f)} optype="continuous" dataType="float"/>\n' for f in features)
    active = "".join(f"<MiningField name={quoteattr(f)}/>" for f in features)
    head = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">',
            '  <Header><Application name="ferry scripts/xgboost_to_pmml.py"/></Header>',
            "  <DataDictionary>"]
    if objective == "binary:logistic":
        margin = math.log(base_score / (1 - base_score))
        head.append('    <DataField name="y" optype="categorical" dataType="integer"><Value value="0"/><Value value="1"/></DataField>')
        body = ['  <MiningModel functionName="classification">',
                f'    <MiningSchema><MiningField name="y" usageType="target"/>{active}</MiningSchema>',
                '    <Segmentation multipleModelMethod="modelChain">',
                '      <Segment id="1"><True/>']
        body += tree_sum(trees, features, "xgbValue", margin, 4)
        body += ['      </Segment>',
                 '      <Segment id="2"><True/>',
                 '        <RegressionModel functionName="classification" normalizationMethod="logit">',
                 '          <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="xgbValue"/></MiningSchema>',
                 '          <RegressionTable intercept="0" targetCategory="1"><NumericPredictor name="xgbValue" coefficient="1"/></RegressionTable>',
                 '          <RegressionTable intercept="0" targetCategory="0"/>',
                 '        </RegressionModel>',
                 '      </Segment>',
                 '    </Segmentation>',
                 '  </MiningModel>']
    elif objective in ("multi:softprob", "multi:softmax"):
        values = "".join(f'<Value value="{k}"/>' for k in range(num_class))
        head.append(f'    <DataField name="y" optype="categorical" dataType="integer">{values}</DataField>')
        body = ['  <MiningModel functionName="classification">',
                f'    <MiningSchema><MiningField name="y" usageType="target"/>{active}</MiningSchema>',
                '    <Segmentation multipleModelMethod="modelChain">']
        for k in range(num_class):
            body.append(f'      <Segment id="{k + 1}"><True/>')
            body += tree_sum(trees[k::num_class], features, f"xgbValue({k})", base_score, 4)
            body.append("      </Segment>")
        tables = "".join(f'<RegressionTable intercept="0" targetCategory="{k}"><NumericPredictor name="xgbValue({k})" '
                         'coefficient="1"/></RegressionTable>' for k in range(num_class))
        body += [f'      <Segment id="{num_class + 1}"><True/>',
                 '        <RegressionModel functionName="classification" normalizationMethod="softmax">',
                 '          <MiningSchema><MiningField name="y" usageType="target"/>'
                 + "".join(f'<MiningField name="xgbValue({k})"/>' for k in range(num_class)) + "</MiningSchema>",
                 f"          {tables}",
                 '        </RegressionModel>',
                 '      </Segment>',
                 '    </Segmentation>',
                 '  </MiningModel>']
    else:
        head.append('    <DataField name="y" optype="continuous" dataType="double"/>')
        body = tree_sum(trees, features, None, base_score, 1)
        body[1] = f'    <MiningSchema><MiningField name="y" usageType="target"/>{active}</MiningSchema>'
    return "\n".join(head) + "\n" + fields + "  </DataDictionary>\n" + "\n".join(body) + "\n</PMML>\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an XGBoost model file (model.json, model.ubj, binary)")
    parser.add_argument("out", help="the PMML file to write")
    parser.add_argument("--features", help="comma-separated feature names (default: the booster's, else f0, f1, ...)")
    args = parser.parse_args()
    booster = xgb.Booster(model_file=args.model)
    count = booster.num_features()
    if args.features:
        features = args.features.split(",")
    else:
        features = booster.feature_names or [f"f{i}" for i in range(count)]
    if len(features) != count:
        sys.exit(f"the booster has {count} features, {len(features)} names were given")
    with open(args.out, "w") as f:
        f.write(convert(booster, features))


if __name__ == "__main__":
    main()
