#!/usr/bin/env python3
"""Train the example model: multinomial logistic regression on Fisher's Iris data.

Python 3 standard library only, CPU, well under a second. Deterministic: the same data,
seed and options give byte-identical model.json and metrics (apart from the timing figure).

Writes
  <model-dir>/model.json  the model, in the format the reference prediction server loads
                          (format "train-to-serve.linear-classifier", version 1; see README.md)
  <metrics>               evaluation on a held-out stratified split: accuracy, loss, per-class
                          F1 and precision/recall, latency_p95_ms, sample counts

Options may also come from the environment: MODEL_DIR, METRICS_FILE, EPOCHS, SEED.
"""

import argparse
import csv
import json
import math
import os
import random
import sys
import time

FORMAT = "train-to-serve.linear-classifier"
FORMAT_VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(HERE, "iris.csv"), help="CSV with a header; the last column is the class")
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "model"), help="where model.json goes (default: $MODEL_DIR or ./model)")
    parser.add_argument("--metrics", default=os.environ.get("METRICS_FILE", "metrics.json"), help="metrics file (default: $METRICS_FILE or ./metrics.json)")
    parser.add_argument("--epochs", type=int, default=int(os.environ.get("EPOCHS", "300")), help="full-batch gradient steps (default 300)")
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty on the weights (not the bias)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "7")), help="seed of the train/test split")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--name", default="iris", help="model name recorded in model.json")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if not 0 < args.test_fraction < 1:
        parser.error("--test-fraction must be between 0 and 1")
    if args.learning_rate <= 0:
        parser.error("--learning-rate must be positive")
    return args


def load(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2:
        raise SystemExit(f"train.py: {path} has no data rows")
    header, body = rows[0], [row for row in rows[1:] if row]
    features = header[:-1]
    x, y = [], []
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise SystemExit(f"train.py: {path} line {number}: expected {len(header)} columns, got {len(row)}")
        try:
            x.append([float(value) for value in row[:-1]])
        except ValueError as error:
            raise SystemExit(f"train.py: {path} line {number}: {error}")
        y.append(row[-1])
    return features, x, y


def stratified_split(y, test_fraction, seed):
    """Same share of every class in the test set; the order is fixed by the seed."""
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(set(y)):
        indices = [i for i, value in enumerate(y) if value == label]
        rng.shuffle(indices)
        cut = max(1, round(len(indices) * test_fraction))
        test.extend(indices[:cut])
        train.extend(indices[cut:])
    return sorted(train), sorted(test)


def softmax(logits):
    top = max(logits)
    exps = [math.exp(value - top) for value in logits]
    total = sum(exps)
    return [value / total for value in exps]


def probabilities(model, row):
    z = [(value - mean) / scale for value, mean, scale in zip(row, model["standardize"]["mean"], model["standardize"]["scale"])]
    logits = [sum(w * v for w, v in zip(weights, z)) + bias for weights, bias in zip(model["weights"], model["bias"])]
    return softmax(logits)


def train(features, classes, x, y, args):
    n, d, k = len(x), len(features), len(classes)
    mean = [sum(row[j] for row in x) / n for j in range(d)]
    scale = [math.sqrt(sum((row[j] - mean[j]) ** 2 for row in x) / n) or 1.0 for j in range(d)]
    z = [[(row[j] - mean[j]) / scale[j] for j in range(d)] for row in x]
    target = [classes.index(label) for label in y]
    weights = [[0.0] * d for _ in range(k)]
    bias = [0.0] * k
    for _ in range(args.epochs):
        grad_w = [[0.0] * d for _ in range(k)]
        grad_b = [0.0] * k
        for row, t in zip(z, target):
            p = softmax([sum(w * v for w, v in zip(weights[c], row)) + bias[c] for c in range(k)])
            for c in range(k):
                error = p[c] - (1.0 if c == t else 0.0)
                grad_b[c] += error
                for j in range(d):
                    grad_w[c][j] += error * row[j]
        for c in range(k):
            bias[c] -= args.learning_rate * grad_b[c] / n
            for j in range(d):
                weights[c][j] -= args.learning_rate * (grad_w[c][j] / n + args.l2 * weights[c][j])
    return {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "name": args.name,
        "task": "classification",
        "features": features,
        "classes": classes,
        "standardize": {"mean": mean, "scale": scale},
        "weights": weights,
        "bias": bias,
        "training": {
            "algorithm": "multinomial logistic regression, full-batch gradient descent",
            "epochs": args.epochs,
            "learningRate": args.learning_rate,
            "l2": args.l2,
            "seed": args.seed,
            "trainSamples": n,
        },
    }


def evaluate(model, classes, x, y):
    predicted, loss = [], 0.0
    for row, label in zip(x, y):
        p = probabilities(model, row)
        loss -= math.log(max(p[classes.index(label)], 1e-15))
        predicted.append(classes[p.index(max(p))])
    correct = sum(1 for a, b in zip(predicted, y) if a == b)
    f1, precision, recall = {}, {}, {}
    for label in classes:
        tp = sum(1 for a, b in zip(predicted, y) if a == label and b == label)
        fp = sum(1 for a, b in zip(predicted, y) if a == label and b != label)
        fn = sum(1 for a, b in zip(predicted, y) if a != label and b == label)
        precision[label] = tp / (tp + fp) if tp + fp else 0.0
        recall[label] = tp / (tp + fn) if tp + fn else 0.0
        total = precision[label] + recall[label]
        f1[label] = 2 * precision[label] * recall[label] / total if total else 0.0
    f1["macro"] = sum(f1[label] for label in classes) / len(classes)
    return {"accuracy": correct / len(y), "loss": loss / len(y), "f1": f1, "precision": precision, "recall": recall}


def latency_p95_ms(model, x, repeats=20):
    """Single-instance inference time in this process, 95th percentile: a relative figure."""
    samples = []
    for _ in range(repeats):
        for row in x:
            start = time.perf_counter_ns()
            probabilities(model, row)
            samples.append(time.perf_counter_ns() - start)
    samples.sort()
    return samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)] / 1e6


def rounded(value, digits=6):
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    return value


def main(argv):
    args = parse_args(argv)
    started = time.perf_counter()
    features, x, y = load(args.data)
    classes = sorted(set(y))
    train_idx, test_idx = stratified_split(y, args.test_fraction, args.seed)
    x_train, y_train = [x[i] for i in train_idx], [y[i] for i in train_idx]
    x_test, y_test = [x[i] for i in test_idx], [y[i] for i in test_idx]

    model = train(features, classes, x_train, y_train, args)
    test = evaluate(model, classes, x_test, y_test)
    fit = evaluate(model, classes, x_train, y_train)
    metrics = rounded({
        "accuracy": test["accuracy"],
        "loss": test["loss"],
        "f1": test["f1"],
        "precision": test["precision"],
        "recall": test["recall"],
        "latency_p95_ms": latency_p95_ms(model, x_test),
        "train": {"accuracy": fit["accuracy"], "loss": fit["loss"]},
        "samples": {"train": len(x_train), "test": len(x_test)},
        "epochs": args.epochs,
        "training_seconds": time.perf_counter() - started,
    })

    os.makedirs(args.model_dir, exist_ok=True)
    with open(os.path.join(args.model_dir, "model.json"), "w") as handle:
        json.dump(model, handle, indent=2)
        handle.write("\n")
    metrics_dir = os.path.dirname(os.path.abspath(args.metrics))
    os.makedirs(metrics_dir, exist_ok=True)
    with open(args.metrics, "w") as handle:
        json.dump(metrics, handle, indent=2)
        handle.write("\n")
    print(
        f"trained {args.name} on {len(x_train)} samples for {args.epochs} epochs: "
        f"test accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, macro F1 {metrics['f1']['macro']:.4f} "
        f"-> {os.path.join(args.model_dir, 'model.json')}, {args.metrics}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
