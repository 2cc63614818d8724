#!/usr/bin/env python3
"""ONNX Runtime's own Python answer for a model and inputs, to compare the server's with.

stdin:  {"model": "<path to model.onnx>", "inputs": [{"name", "datatype", "shape", "data"}, ...]}
stdout: {"outputs": [{"name", "shape", "data"}, ...], "version": "<onnxruntime version>"}
"""
import json
import sys

import numpy as np
import onnxruntime as ort

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "UINT8": np.uint8, "BOOL": np.bool_}

request = json.load(sys.stdin)
session = ort.InferenceSession(request["model"], providers=["CPUExecutionProvider"])
feeds = {t["name"]: np.asarray(t["data"], dtype=DTYPES[t["datatype"]]).reshape(t["shape"]) for t in request["inputs"]}
names = [o.name for o in session.get_outputs()]
results = session.run(names, feeds)
json.dump({"version": ort.__version__, "outputs": [{"name": n, "shape": list(r.shape), "data": r.reshape(-1).tolist()} for n, r in zip(names, results)]}, sys.stdout)
