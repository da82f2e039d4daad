"""ffnn.MLPClassifier beside scikit-learn's MLPClassifier and the ffnn command, in one run.

The same network and training on MNIST for all three: 784-256-128-10, ReLU, Adam
(lr 1e-3, β 0.9/0.999, ε 1e-8), batches of 128, no L2 penalty (alpha=0), shuffled, 3 epochs;
at 1 and 2 threads (scikit-learn's BLAS limited by threadpoolctl), interleaved, each measurement
repeated and the median kept. scikit-learn computes in the dtype of ``X``: it runs twice, on
float64 pixels (what ``fetch_openml`` or ``X / 255.0`` give a user, and what the issue's own
figures were measured on) and on the same float32 array ffnn gets (its fastest). Reports seconds per epoch of the whole ``fit`` call (what a
Python user waits for), of the training steps alone (``train_seconds`` of ffnn's run, as the
command's ``--json`` reports it), and the test accuracy.

    python scripts/bench_sklearn.py [--data DIR] [--epochs 3] [--repeats 3] [--ffnn target/release/ffnn]
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLP
from threadpoolctl import threadpool_limits

import ffnn

HIDDEN = (256, 128)
BATCH = 128
LR = 1e-3


def sklearn_run(data, epochs, threads, dtype):
    X_train, y_train, X_test, y_test = data
    X_train, X_test = X_train.astype(dtype), X_test.astype(dtype)
    m = SklearnMLP(hidden_layer_sizes=HIDDEN, solver="adam", alpha=0.0, batch_size=BATCH, learning_rate_init=LR, max_iter=epochs, random_state=1)
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        m.fit(X_train, y_train)
        seconds = time.perf_counter() - started
        accuracy = m.score(X_test, y_test)
    return {"fit_s_per_epoch": seconds / epochs, "steps_s_per_epoch": None, "accuracy": accuracy}


def ffnn_run(data, epochs, threads):
    X_train, y_train, X_test, y_test = data
    m = ffnn.MLPClassifier(hidden_layer_sizes=HIDDEN, solver="adam", alpha=0.0, batch_size=BATCH, learning_rate_init=LR, max_iter=epochs, random_state=1, n_threads=threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        m.fit(X_train, y_train)
        seconds = time.perf_counter() - started
    return {"fit_s_per_epoch": seconds / epochs, "steps_s_per_epoch": m._run.train_seconds / epochs, "accuracy": m.score(X_test, y_test)}


def command_run(binary, data_dir, epochs, threads):
    with tempfile.TemporaryDirectory() as out:
        flags = ["--hidden", "256,128", "--optimizer", "adam", "--lr", str(LR), "--batch-size", str(BATCH), "--init", "he",
                 "--lr-schedule", "constant", "--dropout", "0", "--label-smoothing", "0", "--weight-decay", "0", "--no-augment"]
        started = time.perf_counter()
        done = subprocess.run(
            [binary, "train", "--data", data_dir, *flags, "--epochs", str(epochs), "--threads", str(threads), "--eval-every", "0", "--json", "--out", out, "--overwrite"],
            capture_output=True, text=True, check=True,
        )
        seconds = time.perf_counter() - started
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"fit_s_per_epoch": seconds / epochs, "steps_s_per_epoch": summary["train_seconds"] / epochs, "accuracy": summary["test_accuracy"]}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("FFNN_DATA", os.path.join(root, "..", "shared", "data", "mnist")))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ffnn", default=os.path.join(root, "target", "release", "ffnn"))
    args = parser.parse_args()
    data = ffnn.load_dataset(args.data)
    runners = {
        "scikit-learn f64": lambda t: sklearn_run(data, args.epochs, t, np.float64),
        "scikit-learn f32": lambda t: sklearn_run(data, args.epochs, t, np.float32),
        "ffnn (Python)": lambda t: ffnn_run(data, args.epochs, t),
        "ffnn (command)": lambda t: command_run(args.ffnn, args.data, args.epochs, t),
    }
    results = {(name, t): [] for name in runners for t in (1, 2)}
    for _ in range(args.repeats):
        for t in (1, 2):
            for name, run in runners.items():
                results[(name, t)].append(run(t))
    median = lambda rows, key: statistics.median(r[key] for r in rows) if rows[0][key] is not None else None
    print(f"MNIST, 784-256-128-10 Adam, batches of {BATCH}, {args.epochs} epochs, median of {args.repeats} (interleaved)")
    print(f"| {'trainer':<16} | threads | fit s/epoch | steps s/epoch | test accuracy | scikit-learn f64 / it | scikit-learn f32 / it |")
    print("|---|---|---|---|---|---|---|")
    for t in (1, 2):
        f64 = median(results[("scikit-learn f64", t)], "fit_s_per_epoch")
        f32 = median(results[("scikit-learn f32", t)], "fit_s_per_epoch")
        for name in runners:
            rows = results[(name, t)]
            fit, steps = median(rows, "fit_s_per_epoch"), median(rows, "steps_s_per_epoch")
            accuracy = statistics.median(r["accuracy"] for r in rows)
            steps_text = f"{steps:.3f}" if steps is not None else "–"
            print(f"| {name:<16} | {t} | {fit:.3f} | {steps_text} | {accuracy * 100:.2f}% | {f64 / fit:.2f}× | {f32 / fit:.2f}× |")
    for t in (1, 2):
        py = median(results[("ffnn (Python)", t)], "steps_s_per_epoch")
        cli = median(results[("ffnn (command)", t)], "steps_s_per_epoch")
        print(f"{t} thread(s): ffnn from Python takes {py / cli:.3f}× the command's training-step time per epoch")


if __name__ == "__main__":
    main()
