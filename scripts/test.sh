#!/usr/bin/env bash
# Every test of the repository: the Rust crates (`cargo test --release`), then the Python package
# as a user gets it — `pip install .` into a virtual environment of its own
# (target/python-venv, or $FFNN_VENV), with pytest, pandas, scikit-learn, and onnx and ONNX Runtime
# (which check the ONNX export) — under pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release

venv="${FFNN_VENV:-target/python-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check . pytest pandas onnx onnxruntime
"$venv/bin/python" -m pytest python/tests -q -p no:cacheprovider
