"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/ (committed; run
again after a protocol change): valid inputs covering each feature of each parser, and a few
near-misses. libFuzzer mutates from these. Run with Debian's /usr/bin/python3 (python3-grpc-tools).
"""
import importlib
import json
import os
import struct
import sys
import tempfile

from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def tensor(name, datatype, shape, data, **parameters):
    t = {"name": name, "datatype": datatype, "shape": shape, "data": data}
    if parameters:
        t["parameters"] = parameters
    return t


JSON_REQUESTS = {
    "fp32": {"inputs": [tensor("features", "FP32", [1, 8], [6, 148, 72, 35, 0, 33.6, 0.627, 50])]},
    "nested": {"id": "r1", "inputs": [tensor("x", "FP32", [2, 2], [[1, 2], [3, 4]])],
               "outputs": [{"name": "y", "parameters": {"binary_data": True}}]},
    "every_type": {"inputs": [
        tensor("b", "BOOL", [2], [True, False]), tensor("u8", "UINT8", [2], [0, 255]),
        tensor("u16", "UINT16", [1], [65535]), tensor("u32", "UINT32", [1], [4294967295]),
        tensor("u64", "UINT64", [1], [18446744073709551615]), tensor("i8", "INT8", [2], [-128, 127]),
        tensor("i16", "INT16", [1], [-32768]), tensor("i32", "INT32", [1], [-2147483648]),
        tensor("i64", "INT64", [1], [-9223372036854775808]), tensor("f16", "FP16", [2], [1.5, -0.25]),
        tensor("f64", "FP64", [2], [1e300, -2.5e-308]), tensor("s", "BYTES", [2], ["hello", "w\u00f6rld"])]},
    "parameters": {"id": "p", "parameters": {"binary_data_output": True, "priority": 3, "timeout": 1000,
                                             "s": "x"},
                   "inputs": [tensor("x", "INT64", [3], [1, 2, 3], flag=False)]},
    "empty_shape": {"inputs": [tensor("x", "FP32", [0, 8], [])]},
    "scalar": {"inputs": [tensor("x", "FP64", [], [1.0])]},
    "escapes": {"inputs": [tensor("x\"\\\n\u0001", "BYTES", [1], ["\ud83d\ude00\t"])]},
    "negative_dim": {"inputs": [tensor("x", "FP32", [-1, 8], [1])]},
    "count_mismatch": {"inputs": [tensor("x", "FP32", [2], [1, 2, 3])]},
    "wrong_type": {"inputs": [tensor("x", "INT32", [1], ["a"])]},
}


def json_seeds():
    for name, body in JSON_REQUESTS.items():
        write("fuzz_v2_json", name + ".json", json.dumps(body))
    write("fuzz_v2_json", "truncated.json", json.dumps(JSON_REQUESTS["fp32"])[:40])
    write("fuzz_v2_json", "deep.json", "[" * 40 + "]" * 40)
    write("fuzz_v2_json", "index.json", '{"ready": true}')
    write("fuzz_v2_json", "load.json", json.dumps({"parameters": {"config": "backend: onnxruntime\n"}}))


def binary_seed(name, inputs, blobs, outputs=None):
    body = {"inputs": inputs}
    if outputs:
        body["outputs"] = outputs
    header = json.dumps(body).encode()
    write("fuzz_v2_binary", name, struct.pack("<H", len(header)) + header + b"".join(blobs))


def binary_seeds():
    row = struct.pack("<8f", 6, 148, 72, 35, 0, 33.6, 0.627, 50)
    binary_seed("fp32", [{"name": "features", "datatype": "FP32", "shape": [1, 8],
                          "parameters": {"binary_data_size": len(row)}}], [row])
    strings = b"".join(struct.pack("<I", len(s)) + s for s in (b"ab", b"", b"\xff\xfe"))
    binary_seed("bytes", [{"name": "s", "datatype": "BYTES", "shape": [3],
                           "parameters": {"binary_data_size": len(strings)}}], [strings])
    half = struct.pack("<2e", 1.5, -2.0)
    binary_seed("mixed", [{"name": "h", "datatype": "FP16", "shape": [2], "parameters": {"binary_data_size": 4}},
                          tensor("j", "INT32", [2], [1, 2])], [half],
                outputs=[{"name": "y", "parameters": {"binary_data": True}}])
    binary_seed("short", [{"name": "x", "datatype": "FP64", "shape": [4],
                           "parameters": {"binary_data_size": 32}}], [b"\0" * 16])
    # A response as the client reads it: JSON, then binary outputs.
    response = json.dumps({"model_name": "m", "model_version": "1", "id": "r", "outputs": [
        {"name": "p", "datatype": "FP32", "shape": [1, 1], "parameters": {"binary_data_size": 4}},
        {"name": "l", "datatype": "INT64", "shape": [1, 1], "data": [1]}]}).encode()
    write("fuzz_v2_binary", "response", struct.pack("<H", len(response)) + response + struct.pack("<f", 0.7))


def grpc_seeds():
    out_dir = tempfile.mkdtemp()
    proto_dir = os.path.join(SOURCE_DIR, "proto")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    for name in ("model_config.proto", "grpc_service.proto"):
        if protoc.main(["grpc_tools.protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}",
                        os.path.join(proto_dir, name)]) != 0:
            raise RuntimeError(f"protoc failed on {name}")
    sys.path.insert(0, out_dir)
    pb = importlib.import_module("grpc_service_pb2")

    def request(name, version="", **kwargs):
        r = pb.ModelInferRequest(model_name="pima", model_version=version, id="r")
        for tensor_kwargs in kwargs.pop("inputs", []):
            contents = tensor_kwargs.pop("contents", None)
            t = r.inputs.add(**tensor_kwargs)
            if contents:
                for field, values in contents.items():
                    getattr(t.contents, field).extend(values)
        r.raw_input_contents.extend(kwargs.pop("raw", []))
        for output in kwargs.pop("outputs", []):
            r.outputs.add(name=output)
        write("fuzz_grpc_request", name, r.SerializeToString())

    request("typed_fp32", inputs=[dict(name="features", datatype="FP32", shape=[1, 8],
                                       contents={"fp32_contents": [6, 148, 72, 35, 0, 33.6, 0.627, 50]})])
    request("raw_fp32", version="1", inputs=[dict(name="features", datatype="FP32", shape=[1, 8])],
            raw=[struct.pack("<8f", *range(8))], outputs=["probability"])
    request("typed_all", inputs=[
        dict(name="b", datatype="BOOL", shape=[1], contents={"bool_contents": [True]}),
        dict(name="i", datatype="INT8", shape=[2], contents={"int_contents": [-1, 1]}),
        dict(name="u", datatype="UINT16", shape=[1], contents={"uint_contents": [7]}),
        dict(name="l", datatype="INT64", shape=[1], contents={"int64_contents": [-5]}),
        dict(name="ul", datatype="UINT64", shape=[1], contents={"uint64_contents": [5]}),
        dict(name="d", datatype="FP64", shape=[1], contents={"fp64_contents": [0.5]}),
        dict(name="s", datatype="BYTES", shape=[2], contents={"bytes_contents": [b"a", b"bc"]})])
    request("raw_bytes", inputs=[dict(name="s", datatype="BYTES", shape=[2])],
            raw=[struct.pack("<I", 1) + b"a" + struct.pack("<I", 0)])
    request("raw_fp16", inputs=[dict(name="h", datatype="FP16", shape=[2])], raw=[struct.pack("<2e", 1, 2)])
    request("bad_version", version="x", inputs=[dict(name="x", datatype="FP32", shape=[1])], raw=[b"\0" * 4])
    request("short_raw", inputs=[dict(name="x", datatype="FP32", shape=[4])], raw=[b"\0" * 6])


MODEL_CONFIGS = {
    "full.yaml": """name: m
backend: onnxruntime
max_batch_size: 64
instances: 2
version_policy: {latest: 2}
dynamic_batching: {max_queue_delay_us: 100, preferred_batch_sizes: [8, 16], max_queue_size: 100,
                   default_timeout_us: 5000}
warmup:
  - {batch_size: 4, count: 2, fill: random}
  - {request: warmup.json}
inputs:
  - {name: features, datatype: FP32, shape: [-1, 8]}
outputs:
  - {name: probability, datatype: FP32, shape: [-1, 1]}
parameters: {intra_op_threads: 1, graph_optimization_level: all}
""",
    "specific.yaml": "backend: onnxruntime\nversion_policy: {specific: [1, 3]}\n",
    "all.json": '{"backend": "onnxruntime", "version_policy": "all", "max_batch_size": 0}',
    "unknown_key.yaml": "backend: onnxruntime\nbogus: 1\n",
    "anchors.yaml": "a: &x {name: x, datatype: FP32, shape: [1]}\ninputs: [*x, *x]\n",
}

TOKENS = """# token                                   scopes
0123456789abcdef0123456789abcdef            infer,read
fedcba9876543210fedcba9876543210            admin
short infer
"""


TRITON_CONFIG = """{"name": "pima", "platform": "onnxruntime_onnx", "max_batch_size": 8,
 "version_policy": {"latest": {"num_versions": 1}},
 "input": [{"name": "features", "data_type": "TYPE_FP32", "dims": [8]}],
 "output": [{"name": "probability", "data_type": "TYPE_FP32", "dims": [1], "label_filename": "labels.txt"}],
 "dynamic_batching": {"max_queue_delay_microseconds": 100, "preferred_batch_size": [4],
                      "default_queue_policy": {"max_queue_size": 10}},
 "instance_group": [{"count": 2, "kind": "KIND_CPU"}], "parameters": {"k": {"string_value": "v"}},
 "model_warmup": [{"name": "w", "batch_size": 1, "inputs": {"features": {"data_type": "TYPE_FP32", "dims": [8],
                   "zero_data": true}}}], "optimization": {}}"""
TRITON_CONFIG_CAMEL = """{"name": "pima", "backend": "onnxruntime", "maxBatchSize": "8",
 "input": [{"name": "features", "dataType": "TYPE_FP32", "dims": ["8"]}],
 "dynamicBatching": {"maxQueueDelayMicroseconds": "100"}, "instanceGroup": [{"count": 1, "kind": "KIND_GPU"}]}"""


def model_config_seeds():
    pima = os.path.join(SOURCE_DIR, "examples", "models", "pima", "model.yaml")
    with open(pima, "rb") as f:
        write("fuzz_model_config", "pima.yaml", f.read())
    for name, text in MODEL_CONFIGS.items():
        write("fuzz_model_config", name, text)
    write("fuzz_model_config", "tokens.txt", TOKENS)
    write("fuzz_model_config", "triton.json", TRITON_CONFIG)
    write("fuzz_model_config", "triton_camel.json", TRITON_CONFIG_CAMEL)
    write("fuzz_model_config", "file_path.txt", "1/sub/model.onnx")


def http_coding_seeds():
    import gzip
    import zlib
    body = b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}'
    write("fuzz_http_coding", "gzip.bin", gzip.compress(body, mtime=0))
    write("fuzz_http_coding", "zlib.bin", zlib.compress(body))
    raw = zlib.compressobj(wbits=-15)
    write("fuzz_http_coding", "raw.bin", raw.compress(body) + raw.flush())
    write("fuzz_http_coding", "accept.txt", "gzip;q=0.5, deflate;q=0.9, br, *;q=0")


PIPELINES = {
    "kinds.yaml": """pipeline:
  - name: in
    kind: record
    fields: {a: number, b: {type: integer, default: 3}, c: {type: string, required: false}, v: {type: array, width: 2}}
  - {name: check, kind: validate, rules: [{field: a, min: 0, max: 10}, {field: c, allowed: [x, y]}]}
  - {name: f, kind: filter, field: b, less_than: 0, action: reject, reason: negative}
  - {name: z, kind: standardize, field: a, mean: 1, std: 2, output: za}
  - {name: mm, kind: minmax, field: a, min: 0, max: 10, output: ma}
  - {name: lg, kind: log1p, field: a, output: la}
  - {name: cl, kind: clip, field: a, min: 0}
  - {name: im, kind: impute, field: b, value: 1}
  - {name: oh, kind: one_hot, field: c, values: [x, y], unknown: reject}
  - {name: mp, kind: map, field: c, mapping: {x: 1, y: 2}, default: 0, output: cm}
  - {name: bk, kind: bucketize, field: a, boundaries: [1, 2, 3]}
  - {name: th, kind: threshold, field: b, greater_than: 18, output: adult}
  - {name: t, kind: tensor, output: x, datatype: FP64, fields: [a, v, adult, cm]}
  - {name: m, kind: model, model: other, version: 2, inputs: {input: x}, outputs: {out: y}}
  - {name: sm, kind: softmax, input: y, output: p}
  - {name: am, kind: argmax, input: y, classes: [a, b], output: cls}
  - {name: tk, kind: top_k, input: y, k: 2, output: top}
  - {name: lb, kind: label, input: y, threshold: 0.5, labels: [n, p], output: l}
  - {name: rn, kind: rename, mapping: {cls: klass}}
  - {name: sel, kind: select, fields: [klass, p, top, l, y]}
  - {kind: respond, fields: {class: klass, probabilities: p}}
""",
    "unknown_name.yaml": "pipeline:\n  - {name: in, kind: record, fields: {a: number}}\n  - {kind: log1p, field: b}\n",
}

PREDICT = {
    "one.json": {"preg": 6, "plas": 148, "pres": 72, "skin": 35, "test": 0, "mass": 33.6, "pedi": 0.627, "age": 50},
    "instances.json": {"instances": [
        {"preg": 1, "plas": 85, "pres": 66, "skin": 29, "test": 0, "mass": 26.6, "pedi": 0.351, "age": 31},
        {"preg": 1, "plas": 585, "pres": 66, "skin": 29, "test": 0, "mass": -1, "pedi": 0.351, "age": "x"},
        {"preg": None, "plas": [1, 2], "pres": {"a": 1}, "skin": True, "age": 33.5}]},
    "empty.json": {"instances": []},
}


def pipeline_seeds():
    with open(os.path.join(SOURCE_DIR, "examples", "models", "pima-pipeline", "model.yaml"), "rb") as f:
        write("fuzz_pipeline_config", "pima-pipeline.yaml", f.read())
    for name, text in PIPELINES.items():
        write("fuzz_pipeline_config", name, text)
    for name, body in PREDICT.items():
        write("fuzz_predict", name, json.dumps(body))
    write("fuzz_predict", "not_object.json", "[1, 2]")


STREAM_CONFIG = """kafka:
  bootstrap_servers: 127.0.0.1:9092
  properties: {security.protocol: plaintext, session.timeout.ms: "6000"}
streams:
  - name: pima-scoring
    source: {topic: patients, encoder: json, group: ferry-pima, start_from: latest}
    model: pima-pipeline
    version: 1
    sink:   {topic: predictions, encoder: json, key: from_source}
    errors: {topic: patients-errors}
    batch:  {max_events: 256, max_wait_ms: 5}
"""


def stream_seeds():
    write("fuzz_stream_config", "ferry.yaml", STREAM_CONFIG)
    write("fuzz_stream_config", "no_errors.yaml", STREAM_CONFIG.replace("    errors: {topic: patients-errors}\n", ""))
    write("fuzz_stream_config", "mqtt.yaml", """mqtt:
  broker: mqtts://broker:8883
  client_id: ferry-1
  version: 3.1.1
  username: scorer
  keep_alive_s: 10
  tls: {ca: ca.pem, verify_host: false}
streams:
  - name: sensors
    source: {mqtt: {topic: "plant/+/readings/#", qos: 1, shared_group: ferry, retained: true}, encoder: json}
    model: anomaly
    sink: {mqtt: {topic: "plant/{1}/scores/{2}", qos: 0}, encoder: json}
    errors: {mqtt: {topic: "plant/errors"}, tolerance: all}
    batch: {max_events: 64, max_wait_ms: 2}
""")
    write("fuzz_stream_config", "mixed.yaml", """kafka: {bootstrap_servers: 127.0.0.1:9092}
mqtt: {broker: mqtt://127.0.0.1:1883}
streams:
  - name: up
    source: {mqtt: {topic: "plant/+/readings"}}
    model: anomaly
    sink: {topic: scores, headers: copy}
    errors: {topic: errors}
  - name: rpc
    source: {topic: requests, reply: {topic_header: reply-to, correlation_header: id}}
    model: anomaly
    sink: {mqtt: {topic: devices/answers}}
    errors: {mqtt: {topic: devices/errors}}
""")


def package_seeds():
    """tar + zstd like ferry publish packs them (zstd from the zstd command)."""
    import io
    import subprocess
    import tarfile

    def package(name, members):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for member_name, content, kind in members:
                info = tarfile.TarInfo(member_name)
                if kind == "link":
                    info.type, info.linkname = tarfile.SYMTYPE, content
                    tar.addfile(info)
                else:
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
        packed = subprocess.run(["zstd", "-q", "-c"], input=raw.getvalue(), capture_output=True, check=True).stdout
        write("fuzz_model_package", name, packed)

    package("valid.tar.zst", [("version/model.onnx", b"\x08\x08" * 8, "file"),
                              ("model.yaml", b"backend: onnxruntime\n", "file")])
    package("dotdot.tar.zst", [("version/../../escape", b"x", "file")])
    package("link.tar.zst", [("version/link", "/etc/passwd", "link")])


def pmml_seeds():
    """The PMML documents of tests/unit/backends/pmml_test.cc and examples/models/pima-pmml."""
    import re
    with open(os.path.join(SOURCE_DIR, "tests", "unit", "backends", "pmml_test.cc")) as f:
        text = f.read()
    docs = re.findall(r'R"PMML\((.*?)\)PMML"', text, re.S) + re.findall(r'kDoc = R"\((.*?)\)";', text, re.S)
    for i, doc in enumerate(docs):
        write("fuzz_pmml", f"unit-{i}.pmml", doc)
    with open(os.path.join(SOURCE_DIR, "examples", "models", "pima-pmml", "1", "model.pmml")) as f:
        write("fuzz_pmml", "pima.pmml", f.read())
    write("fuzz_pmml", "svm.pmml", SVM_PMML)
    write("fuzz_pmml", "rules.pmml", RULES_PMML)
    write("fuzz_pmml", "clusters.pmml", CLUSTERS_PMML)
    write("fuzz_pmml", "glm.pmml", GLM_PMML)
    write("fuzz_pmml", "cox.pmml", COX_PMML)
    # The output features' documents, and the smaller R-made documents of the corpus.
    with open(os.path.join(SOURCE_DIR, "tests", "unit", "backends", "pmml_outputs_test.cc")) as f:
        for i, doc in enumerate(re.findall(r'MustCompile\(R"\((.*?)\)"\);', f.read(), re.S)):
            write("fuzz_pmml", f"outputs-{i}.pmml", doc)
    corpus = os.path.join(SOURCE_DIR, "tests", "pmml", "corpus")
    for name in sorted(os.listdir(corpus)):
        path = os.path.join(corpus, name)
        if name.startswith("r-") and name.endswith(".pmml") and os.path.getsize(path) < 10000:
            with open(path) as f:
                write("fuzz_pmml", name, f.read())


COX_PMML = """<PMML version="4.4"><DataDictionary>
  <DataField name="x" optype="continuous" dataType="double"/><DataField name="t" optype="continuous" dataType="double"/>
  <DataField name="g" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/><Value value="c"/></DataField>
  <DataField name="h" optype="continuous" dataType="double"/></DataDictionary>
<GeneralRegressionModel functionName="regression" modelType="CoxRegression" endTimeVariable="t" baselineStrataVariable="g">
  <MiningSchema><MiningField name="x"/><MiningField name="t"/><MiningField name="g"/><MiningField name="h" usageType="target"/></MiningSchema>
  <ParameterList><Parameter name="p1" referencePoint="2"/><Parameter name="p2"/></ParameterList>
  <FactorList><Predictor name="g" contrastMatrixType="deviation"><Categories><Category value="a"/><Category value="b"/>
    <Category value="c"/></Categories><Matrix kind="symmetric"><Array type="real">1</Array><Array type="real">0 1</Array>
    <Array type="real">-1 -1 0</Array></Matrix></Predictor></FactorList>
  <CovariateList><Predictor name="x"/></CovariateList>
  <PPMatrix><PPCell value="1" predictorName="x" parameterName="p1"/><PPCell value="b" predictorName="g" parameterName="p2"/></PPMatrix>
  <ParamMatrix><PCell parameterName="p1" beta="0.5"/><PCell parameterName="p2" beta="-0.3"/></ParamMatrix>
  <BaseCumHazardTables><BaselineStratum value="a" maxTime="4"><BaselineCell time="2" cumHazard="0.2"/></BaselineStratum>
    <BaselineStratum value="b" maxTime="10"><BaselineCell time="1" cumHazard="0.05"/><BaselineCell time="5" cumHazard="0.5"/>
    </BaselineStratum></BaseCumHazardTables>
</GeneralRegressionModel></PMML>
"""


GLM_PMML = """<PMML version="4.4"><DataDictionary>
  <DataField name="g" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField>
  <DataField name="x" optype="continuous" dataType="double"/>
  <DataField name="y" optype="categorical" dataType="string"><Value value="lo"/><Value value="mid"/><Value value="hi"/></DataField></DataDictionary>
<GeneralRegressionModel modelType="ordinalMultinomial" functionName="classification" cumulativeLink="cloglog">
  <MiningSchema><MiningField name="g"/><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
  <ParameterList><Parameter name="p0"/><Parameter name="p1"/><Parameter name="p2"/></ParameterList>
  <FactorList><Predictor name="g"/></FactorList><CovariateList><Predictor name="x"/></CovariateList>
  <PPMatrix><PPCell value="b" predictorName="g" parameterName="p1"/><PPCell value="2" predictorName="x" parameterName="p2"/></PPMatrix>
  <ParamMatrix><PCell targetCategory="lo" parameterName="p0" beta="-0.5"/><PCell targetCategory="mid" parameterName="p0" beta="0.7"/>
    <PCell parameterName="p1" beta="0.4"/><PCell parameterName="p2" beta="-0.1"/></ParamMatrix></GeneralRegressionModel></PMML>
"""


CLUSTERS_PMML = """<PMML version="4.4"><DataDictionary>
  <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/></DataDictionary>
<ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="2">
  <MiningSchema><MiningField name="a"/><MiningField name="b"/></MiningSchema>
  <ComparisonMeasure kind="distance" compareFunction="gaussSim"><minkowski p-parameter="3"/></ComparisonMeasure>
  <ClusteringField field="a" fieldWeight="2" similarityScale="2"/><ClusteringField field="b" compareFunction="absDiff"/>
  <MissingValueWeights><Array n="2" type="real">1 3</Array></MissingValueWeights>
  <Cluster id="near"><Array n="2" type="real">0 0</Array></Cluster><Cluster id="far"><Array n="2" type="real">3 4</Array></Cluster>
</ClusteringModel></PMML>
"""


RULES_PMML = """<PMML version="4.4"><DataDictionary>
  <DataField name="bp" optype="continuous" dataType="double"/><DataField name="age" optype="continuous" dataType="double"/>
  <DataField name="drug" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/></DataField></DataDictionary>
<RuleSetModel functionName="classification"><MiningSchema><MiningField name="bp"/><MiningField name="age"/>
  <MiningField name="drug" usageType="target"/></MiningSchema>
  <RuleSet defaultScore="B"><RuleSelectionMethod criterion="weightedSum"/>
    <SimpleRule id="r1" score="A" weight="0.3"><SimplePredicate field="bp" operator="greaterThan" value="140"/></SimpleRule>
    <CompoundRule><SimplePredicate field="age" operator="lessThan" value="50"/>
      <SimpleRule id="r2" score="B" weight="0.8"><True/><ScoreDistribution value="A" recordCount="1"/>
        <ScoreDistribution value="B" recordCount="3"/></SimpleRule></CompoundRule>
  </RuleSet></RuleSetModel></PMML>
"""


SVM_PMML = """<PMML version="4.4"><DataDictionary>
  <DataField name="a" optype="continuous" dataType="double"/>
  <DataField name="c" optype="categorical" dataType="string"><Value value="u"/><Value value="w"/></DataField>
  <DataField name="k" optype="categorical" dataType="string"><Value value="p"/><Value value="q"/></DataField></DataDictionary>
<SupportVectorMachineModel functionName="classification" classificationMethod="OneAgainstOne" threshold="0.1">
  <MiningSchema><MiningField name="a"/><MiningField name="c"/><MiningField name="k" usageType="target"/></MiningSchema>
  <PolynomialKernelType gamma="0.5" coef0="1" degree="2"/>
  <VectorDictionary><VectorFields><FieldRef field="a"/><CategoricalPredictor name="c" value="w" coefficient="1"/></VectorFields>
    <VectorInstance id="v1"><REAL-SparseArray n="2"><Indices>1</Indices><REAL-Entries>1.5</REAL-Entries></REAL-SparseArray></VectorInstance>
    <VectorInstance id="v2"><Array n="2" type="real">-1 1</Array></VectorInstance></VectorDictionary>
  <SupportVectorMachine targetCategory="p" alternateTargetCategory="q"><SupportVectors><SupportVector vectorId="v1"/>
    <SupportVector vectorId="v2"/></SupportVectors><Coefficients absoluteValue="0.1"><Coefficient value="1"/>
    <Coefficient value="-0.5"/></Coefficients></SupportVectorMachine>
</SupportVectorMachineModel></PMML>
"""


ROUTERS = {
    "split.yaml": """router:
  routes:
    - {name: stable, target: "pima:1", weight: 95}
    - {name: canary, target: "pima:2", weight: 5}
  sticky: {key: "header:x-user-id"}
  override: {header: x-route}
  fallback: {on: [unavailable, queue_full, timeout], to: stable}
  shadow: [{name: next, target: pima-next, percent: 10, max_inflight: 4, compare: {output: probability, abs_tol: 0.01}}]
""",
    "bandit.yaml": """router:
  routes: [{target: a}, {target: b}]
  bandit: {policy: ucb1, epsilon: 0.2, prior: {alpha: 2, beta: 3}, min_pulls: 5, state_file: /tmp/x.json,
           save_every_s: 1, feedback_ttl_s: 60, max_decisions: 10, seed: 4}
""",
    "ensemble.yaml": """router:
  ensemble:
    members: [{target: a, weight: 2}, {target: "b:3"}, {name: c, target: c}]
    aggregate: {output: label, method: soft_vote, label: winner}
    quorum: 2
    member_timeout_ms: 100
""",
    "zero.yaml": "router: {routes: [{target: a, weight: 0}]}\n",
}


def routing_seeds():
    for name, text in ROUTERS.items():
        write("fuzz_router_config", name, text)
    write("fuzz_routing_json", "weights.json", json.dumps({"weights": {"stable": 50, "canary": 50.5}}))
    write("fuzz_routing_json", "feedback.json", json.dumps({"decision_id": "0a1b2c3d-1f", "reward": 1}))
    write("fuzz_routing_json", "rewards.json", json.dumps({"decision_id": "0a1b2c3d-20", "rewards": [1, 0, 0.5]}))
    write("fuzz_routing_json", "list.json", json.dumps([{"decision_id": "x-1", "reward": 0}, {"decision_id": "x-2", "rewards": [1]}]))
    write("fuzz_routing_json", "both.json", json.dumps({"decision_id": "x-1", "reward": 0, "rewards": [1]}))


def worker_seeds():
    """ferry <-> Python worker messages (src/backends/python/worker_protocol.h)."""
    def u32(v): return struct.pack("<I", v)
    def i64(v): return struct.pack("<q", v)
    def string(v): b = v.encode(); return u32(len(b)) + b
    def dims(d): return u32(len(d)) + b"".join(i64(x) for x in d)
    def tensor(name, datatype, shape, raw): return string(name) + string(datatype) + dims(shape) + struct.pack("<Q", len(raw)) + raw
    def mapping(m): return u32(len(m)) + b"".join(string(k) + string(v) for k, v in m.items())
    def specs(items): return u32(len(items)) + b"".join(string(n) + string(t) + dims(d) for n, t, d in items)
    load = (string("doubler") + i64(1) + string("/models/doubler/1") + string("") + mapping({"pid_file": "/tmp/x"})
            + mapping({}) + string("user_model") + mapping({"module": "model", "cls": "Model"}) + b"\x00"
            + string("python") + specs([("x", "FP32", [-1])]) + specs([("y", "FP32", [-1])]))
    write("fuzz_worker_protocol", "load.bin", load)
    execute = (u32(2) + tensor("x", "FP32", [2], struct.pack("<2f", 1.5, 2.0))
               + tensor("s", "BYTES", [1], u32(3) + b"abc") + u32(1) + string("y"))
    write("fuzz_worker_protocol", "execute.bin", execute)
    write("fuzz_worker_protocol", "reply_ok.bin", b"\x00" + u32(1) + tensor("y", "FP32", [1], struct.pack("<f", 3.0)))
    write("fuzz_worker_protocol", "reply_error.bin", b"\x01\x00" + string("x must not be negative"))


def mqtt_seeds():
    """Packets a broker sends (MQTT 3.1.1 and 5), and a filter/topic pair per line pair."""
    def varint(n):
        out = b""
        while True:
            b, n = n % 128, n // 128
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    def packet(kind, flags, body):
        return bytes([kind << 4 | flags]) + varint(len(body)) + body

    def s(text):
        data = text.encode() if isinstance(text, str) else text
        return struct.pack(">H", len(data)) + data

    props5 = (b"\x08" + s("reply/me") + b"\x09" + s(b"\x01\x02") + b"\x26" + s("ferry-model") + s("pima") +
              b"\x03" + s("application/json") + b"\x01\x01")
    publish5 = packet(3, 0b0010, s("plant/7/readings") + b"\x00\x05" + varint(len(props5)) + props5 + b'{"a": 1}')
    publish311 = packet(3, 0b1011, s("plant/7/readings") + b"\x00\x06" + b"not json")
    write("fuzz_mqtt_packet", "publish_v5", publish5)
    write("fuzz_mqtt_packet", "publish_v311_dup_retain", publish311)
    write("fuzz_mqtt_packet", "connack_v5", packet(2, 0, b"\x01\x00" + varint(3) + b"\x21\x00\x14"))
    write("fuzz_mqtt_packet", "connack_refused", packet(2, 0, b"\x00\x86\x00"))
    write("fuzz_mqtt_packet", "suback", packet(9, 0, b"\x00\x01\x00\x01"))
    write("fuzz_mqtt_packet", "puback_v5_refused", packet(4, 0, b"\x00\x07\x87" + varint(4) + b"\x1f" + s("no")))
    write("fuzz_mqtt_packet", "stream", packet(13, 0, b"") + publish5 + packet(14, 0, b"\x8e\x00") + publish311)
    write("fuzz_mqtt_packet", "filter_topic", "plant/+/readings/#\nplant/7/readings/a/b")
    write("fuzz_mqtt_packet", "long_length", b"\x30\xff\xff\xff\xff\x01")


def event_codec_seeds():
    """The first byte picks the source encoder: 0 json, 1 raw for a BYTES model, 2 raw for an FP32 one."""
    v2 = json.dumps({"inputs": [tensor("features", "FP32", [1, 8], [6, 148, 72, 35, 0, 33.6, 0.627, 50])]})
    write("fuzz_event_codec", "v2_request", b"\x00" + v2.encode())
    write("fuzz_event_codec", "v2_bytes", b"\x00" + json.dumps(
        {"inputs": [tensor("text", "BYTES", [2, 1], ["a", "\u00e9\"quoted\""])]}).encode())
    write("fuzz_event_codec", "raw_text", b"\x01" + "a sentence, \u00e9".encode())
    write("fuzz_event_codec", "raw_for_fp32", b"\x02" + b"\x00\x01\xff")
    write("fuzz_event_codec", "not_json", b"\x00{\"inputs\": [")


def npy_seeds():
    """.npy files as numpy.save writes them: each type ferry reads, one and two dimensions, and
    near-misses (Fortran order, big-endian, a cut data section)."""
    import io
    import numpy as np

    def save(name, array):
        out = io.BytesIO()
        np.save(out, array)
        write("fuzz_npy", name, out.getvalue())
        return out.getvalue()

    save("f8_2d.npy", np.arange(6, dtype="<f8").reshape(2, 3))
    save("f4_1d.npy", np.array([0.5, -1.5], dtype="<f4"))
    save("i8_2d.npy", np.array([[1, -2]], dtype="<i8"))
    save("i4_2d.npy", np.array([[3], [4]], dtype="<i4"))
    save("fortran.npy", np.asfortranarray(np.arange(4, dtype="<f8").reshape(2, 2)))
    save("big_endian.npy", np.array([1.0], dtype=">f8"))
    whole = save("cut.npy", np.arange(8, dtype="<f8").reshape(2, 4))
    write("fuzz_npy", "cut.npy", whole[:-5])


if __name__ == "__main__":
    npy_seeds()
    event_codec_seeds()
    stream_seeds()
    mqtt_seeds()
    worker_seeds()
    routing_seeds()
    pmml_seeds()
    package_seeds()
    stream_seeds()
    pipeline_seeds()
    json_seeds()
    binary_seeds()
    grpc_seeds()
    model_config_seeds()
    http_coding_seeds()
