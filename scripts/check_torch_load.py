#!/usr/bin/env python3
"""Loads an ffnn model file into PyTorch exactly as the README says, and checks that PyTorch
predicts what ffnn predicts on the MNIST test set.

    python scripts/check_torch_load.py RUN_DIR/model.safetensors MNIST_DIR

Needs torch, safetensors and numpy. Prints PyTorch's test accuracy, ffnn's (from `ffnn eval
--json`), and how many of the 10,000 predicted classes differ (expected: 0).
"""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file


def idx(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    ndim = buf[3]
    dims = [int.from_bytes(buf[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main(model_path, mnist):
    with safe_open(model_path, framework="pt") as f:
        meta = f.metadata()
    sizes = [int(s) for s in meta["ffnn.sizes"].split(",")]
    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[meta["ffnn.activation"]]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict(load_file(model_path))  # strict: every name and shape must match

    x = torch.from_numpy(idx(os.path.join(mnist, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0)
    y = torch.from_numpy(idx(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    with torch.no_grad():
        torch_pred = model(x).argmax(dim=1)
    torch_acc = (torch_pred == y).float().mean().item()

    exe = os.environ.get("FFNN", os.path.join(os.path.dirname(__file__), "..", "target", "release", "ffnn"))
    out = subprocess.run([exe, "eval", "--model", model_path, "--data", mnist, "--json"], capture_output=True, text=True, check=True)
    ffnn = json.loads(out.stdout)
    cm = np.array(ffnn["confusion_matrix"])
    torch_cm = np.zeros_like(cm)
    for t, p in zip(y.numpy(), torch_pred.numpy()):
        torch_cm[t, p] += 1
    print(f"PyTorch accuracy {torch_acc:.4f}, ffnn accuracy {ffnn['accuracy']:.4f}, "
          f"confusion matrices {'identical' if (cm == torch_cm).all() else 'DIFFER'}")
    sys.exit(0 if (cm == torch_cm).all() else 1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
