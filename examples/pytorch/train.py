#!/usr/bin/env python3
"""Train the PyTorch example: a small convolutional network on scikit-learn's handwritten digits.

The data set ships inside scikit-learn (1,797 grey 8x8 images of the digits 0-9, values 0-16), so
nothing is downloaded. CPU by default; CUDA when torch sees a GPU (--device auto). Deterministic on
the CPU: the same data, seed and options give the same weights.

Writes
  <model-dir>/model.onnx       the network, exported with torch.onnx.export: input "image"
                               float32[batch, 1, 8, 8] of raw pixel values (0-16), output "logits"
                               float32[batch, 10]; the batch dimension is dynamic
  <model-dir>/model.onnx.json  the sidecar the reference server reads: name, class labels, the 64
                               pixel feature names, which output holds the scores, and that they
                               are logits
  <metrics>                    evaluation on a held-out stratified split: accuracy, loss, per-class
                               F1, latency_p95_ms, sample counts, and (when onnxruntime is
                               importable) the largest difference between PyTorch's and ONNX
                               Runtime's logits on the test split

Options may also come from the environment: MODEL_DIR, METRICS_FILE, EPOCHS, SEED.
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", "model"), help="where model.onnx goes (default: $MODEL_DIR or ./model)")
    parser.add_argument("--metrics", default=os.environ.get("METRICS_FILE", "metrics.json"), help="metrics file (default: $METRICS_FILE or ./metrics.json)")
    parser.add_argument("--epochs", type=int, default=int(os.environ.get("EPOCHS", "15")), help="passes over the training split (default 15)")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "7")), help="seed of the split and the weights")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--name", default="digits", help="model name recorded in the sidecar")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if not 0 < args.test_fraction < 1:
        parser.error("--test-fraction must be between 0 and 1")
    if args.learning_rate <= 0:
        parser.error("--learning-rate must be positive")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        import numpy as np
        import torch
        from sklearn.datasets import load_digits
        from sklearn.metrics import f1_score
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise SystemExit(f"train.py: {error.name} is missing: apt-get install -y python3-torch python3-sklearn (or run scripts/python-env.sh)")

    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")

    digits = load_digits()
    x = digits.images.astype(np.float32)[:, None, :, :]  # [n, 1, 8, 8], values 0-16
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=args.test_fraction, random_state=args.seed, stratify=y)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 16, kernel_size=3, padding=1)
            self.pool = torch.nn.MaxPool2d(2)
            self.fc1 = torch.nn.Linear(16 * 4 * 4, 64)
            self.fc2 = torch.nn.Linear(64, 10)

        def forward(self, image):
            h = torch.relu(self.conv(image / 16.0))  # raw pixels in, scaling inside the model
            h = self.pool(h).flatten(1)
            return self.fc2(torch.relu(self.fc1(h)))

    model = Net().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train).to(device), torch.from_numpy(y_train).to(device)
    generator = torch.Generator().manual_seed(args.seed)
    started = time.time()
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=generator).to(device)
        for start in range(0, len(xt), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss_fn(model(xt[batch]), yt[batch]).backward()
            optimizer.step()
    train_seconds = time.time() - started

    model.eval().cpu()
    with torch.no_grad():
        test_logits = model(torch.from_numpy(x_test))
        train_logits = model(torch.from_numpy(x_train))
        test_loss = float(loss_fn(test_logits, torch.from_numpy(y_test)))
        predicted = test_logits.argmax(1).numpy()
        latencies = []
        for i in range(min(200, len(x_test))):
            t0 = time.perf_counter()
            model(torch.from_numpy(x_test[i : i + 1]))
            latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    classes = [str(d) for d in range(10)]
    per_class = f1_score(y_test, predicted, average=None, labels=list(range(10)))
    metrics = {
        "accuracy": round(float((predicted == y_test).mean()), 4),
        "loss": round(test_loss, 4),
        "f1": {**{c: round(float(v), 4) for c, v in zip(classes, per_class)}, "macro": round(float(per_class.mean()), 4)},
        "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 4),
        "samples": {"train": int(len(y_train)), "test": int(len(y_test))},
        "epochs": args.epochs,
        "train": {"accuracy": round(float((train_logits.argmax(1).numpy() == y_train).mean()), 4), "seconds": round(train_seconds, 2)},
        "device": str(device),
        "torch": torch.__version__,
    }

    os.makedirs(args.model_dir, exist_ok=True)
    onnx_path = os.path.join(args.model_dir, "model.onnx")
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 8, 8),
        onnx_path,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13,
    )
    sidecar = {
        "name": args.name,
        "classes": classes,
        "features": [f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
        "output": "logits",
        "scores": "logits",
    }
    with open(os.path.join(args.model_dir, "model.onnx.json"), "w") as handle:
        json.dump(sidecar, handle, indent=2)
        handle.write("\n")

    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime is not None:
        session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        exported = session.run(["logits"], {"image": x_test})[0]
        metrics["onnx_max_abs_diff"] = float(np.abs(exported - test_logits.numpy()).max())

    metrics_dir = os.path.dirname(args.metrics)
    if metrics_dir:
        os.makedirs(metrics_dir, exist_ok=True)
    with open(args.metrics, "w") as handle:
        json.dump(metrics, handle, indent=2)
        handle.write("\n")
    print(f"trained {args.name} on {len(y_train)} samples for {args.epochs} epochs on {device}: test accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}; wrote {onnx_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
