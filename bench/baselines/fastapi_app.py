"""The FastAPI baseline: FastAPI + a pickled scikit-learn model under uvicorn (uvloop, httptools).
Speaks the same V2 JSON as ferry for /v2/models/pima/infer. PIMA_PICKLE names the pickle.

    PIMA_PICKLE=model.pkl uvicorn --app-dir bench/baselines fastapi_app:app --workers 2 \
        --loop uvloop --http httptools --host 127.0.0.1 --port PORT
"""
import os
import pickle

import numpy as np
from fastapi import FastAPI, Request

app = FastAPI()
with open(os.environ["PIMA_PICKLE"], "rb") as f:
    model = pickle.load(f)


@app.post("/v2/models/pima/infer")
async def infer(request: Request):
    body = await request.json()
    tensor = body["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    p = model.predict_proba(x)[:, 1].astype(np.float32)
    rows = len(p)
    return {"model_name": "pima", "model_version": "1", "outputs": [
        {"name": "probability", "datatype": "FP32", "shape": [rows, 1], "data": p.tolist()},
        {"name": "label", "datatype": "INT64", "shape": [rows, 1], "data": (p > 0.5).astype(int).tolist()}]}
