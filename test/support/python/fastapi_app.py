"""A FastAPI model server, as teams write them: the kind of third-party server the toolkit deploys.

Serves /model/model.onnx with ONNX Runtime (CPU). Its own conventions, not the reference
server's: health on GET /ping, predictions on POST /invocations ({"instances": [[...], ...]} →
{"predictions": [[...], ...]}), and Prometheus metrics on a port of their own (METRICS_PORT,
default 9100) with its own request counter, fastapi_inference_requests_total.

Runs under uvicorn (`python -m uvicorn fastapi_app:app`) or under gunicorn with uvicorn workers
(`python -m gunicorn -k uvicorn.workers.UvicornWorker fastapi_app:app`). One worker: with more,
prometheus_client needs its multi-process mode (PROMETHEUS_MULTIPROC_DIR).
"""
import os
from contextlib import asynccontextmanager

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from prometheus_client import Counter, start_http_server
from pydantic import BaseModel

MODEL_DIR = os.environ.get("MODEL_DIR", "/model")
METRICS_PORT = int(os.environ.get("METRICS_PORT", "9100"))
REQUESTS = Counter("fastapi_inference_requests", "POST /invocations requests, by HTTP status code", ["code"])

state = {}


@asynccontextmanager
async def lifespan(_app):
    session = ort.InferenceSession(os.path.join(MODEL_DIR, "model.onnx"), providers=["CPUExecutionProvider"])
    state["session"] = session
    state["input"] = session.get_inputs()[0]
    start_http_server(METRICS_PORT)
    yield


app = FastAPI(lifespan=lifespan)


class Request(BaseModel):
    instances: list[list[float]]


@app.get("/ping")
def ping():
    return {"status": "ok", "runtime": ort.__version__}


@app.post("/invocations")
def invocations(request: Request):
    width = state["input"].shape[1]
    if not request.instances or any(len(row) != width for row in request.instances):
        REQUESTS.labels(code="400").inc()
        raise HTTPException(status_code=400, detail=f"each instance needs {width} numbers")
    outputs = state["session"].run(None, {state["input"].name: np.asarray(request.instances, dtype=np.float32)})
    REQUESTS.labels(code="200").inc()
    return {"predictions": outputs[-1].tolist()}
