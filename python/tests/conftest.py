"""Shared fixtures: the real MNIST (required when CI is set) and the ffnn command."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

import ffnn

ROOT = pathlib.Path(__file__).resolve().parents[2]


def mnist_dir():
    """The MNIST folder: $FFNN_DATA, else ../shared/data/mnist beside the repository. Missing
    data fails the test when CI is set, and skips it otherwise."""
    for candidate in (os.environ.get("FFNN_DATA"), ROOT.parent / "shared" / "data" / "mnist"):
        if candidate and (pathlib.Path(candidate) / "train-images-idx3-ubyte.gz").exists():
            return pathlib.Path(candidate)
    if os.environ.get("CI"):
        pytest.fail("the MNIST data is missing: set FFNN_DATA (CI must not skip this test)")
    pytest.skip("no MNIST data (set FFNN_DATA)")


def fashion_dir():
    """Debian's Fashion-MNIST (package dataset-fashion-mnist): required when CI is set."""
    path = pathlib.Path("/usr/share/datasets/fashion-mnist")
    if (path / "train-images-idx3-ubyte.gz").exists():
        return path
    if os.environ.get("CI"):
        pytest.fail("Fashion-MNIST is missing (apt-get install dataset-fashion-mnist)")
    pytest.skip("no Fashion-MNIST")


@pytest.fixture(scope="session")
def mnist():
    """(X_train, y_train, X_test, y_test) of the real MNIST, float32 pixels in [0, 1]."""
    return ffnn.load_dataset(mnist_dir())


@pytest.fixture(scope="session")
def ffnn_command():
    """The `ffnn` binary built by `cargo test --release` (or $FFNN_BIN)."""
    path = pathlib.Path(os.environ.get("FFNN_BIN", ROOT / "target" / "release" / "ffnn"))
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "ffnn"], cwd=ROOT, check=True)
    return path


def blobs(n=300, features=6, classes=3, seed=0, scale=1.0):
    """Separable Gaussian blobs: `classes` centres, labels 0 … classes−1."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(classes, features))
    y = np.arange(n) % classes
    X = centres[y] + rng.normal(0, 1, size=(n, features))
    return (X * scale).astype(np.float64), y
