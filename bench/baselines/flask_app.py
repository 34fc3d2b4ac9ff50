"""The classic baseline: Flask + a pickled scikit-learn model, served by gunicorn (sync workers).
Speaks the same V2 JSON as ferry for /v2/models/pima/infer. PIMA_PICKLE names the pickle.

    PIMA_PICKLE=model.pkl gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/baselines flask_app:app
"""
import os
import pickle

import numpy as np
from flask import Flask, jsonify, request

app = Flask(__name__)
with open(os.environ["PIMA_PICKLE"], "rb") as f:
    model = pickle.load(f)


@app.post("/v2/models/pima/infer")
def infer():
    body = request.get_json()
    tensor = body["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    p = model.predict_proba(x)[:, 1].astype(np.float32)
    rows = len(p)
    return jsonify({"model_name": "pima", "model_version": "1", "outputs": [
        {"name": "probability", "datatype": "FP32", "shape": [rows, 1], "data": p.tolist()},
        {"name": "label", "datatype": "INT64", "shape": [rows, 1], "data": (p > 0.5).astype(int).tolist()}]})
