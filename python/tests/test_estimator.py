"""ffnn.MLPClassifier beyond scikit-learn's checks: labels of any type, files, pickling, the
ffnn command reading the same model, Ctrl-C, the GIL, bad input, and the real MNIST."""

import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ffnn
from conftest import ROOT, blobs, fashion_dir, mnist_dir


def test_string_labels_tabular_features_and_sklearn_attributes():
    X, y = blobs(scale=5.0)  # raw features far outside [0, 1]
    names = np.array(["cat", "dog", "emu"])[y]
    m = ffnn.MLPClassifier(hidden_layer_sizes=(16, 8), random_state=0, max_iter=200).fit(X, names)
    assert list(m.classes_) == ["cat", "dog", "emu"]
    assert m.score(X, names) > 0.95
    assert set(m.predict(X[:10])) <= {"cat", "dog", "emu"}
    P = m.predict_proba(X)
    assert P.shape == (300, 3) and P.dtype == np.float64
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-6)
    assert [w.shape for w in m.coefs_] == [(6, 16), (16, 8), (8, 3)]
    assert [b.shape for b in m.intercepts_] == [(16,), (8,), (3,)]
    assert (m.n_layers_, m.n_outputs_, m.out_activation_, m.n_features_in_) == (4, 3, "softmax", 6)
    assert len(m.loss_curve_) == m.n_iter_ <= 200 and m.t_ == 300 * m.n_iter_
    assert m.loss_curve_[-1] < m.loss_curve_[0] / 5
    # The forward pass by hand from coefs_ and intercepts_ gives predict_proba.
    A = X.astype(np.float32)
    for i, (W, b) in enumerate(zip(m.coefs_, m.intercepts_)):
        A = A @ W + b
        if i < 2:
            A = np.maximum(A, 0)
    E = np.exp(A - A.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P, E / E.sum(axis=1, keepdims=True), atol=1e-5)


def test_the_same_seed_gives_the_same_model_and_another_seed_another():
    X, y = blobs()
    a = ffnn.MLPClassifier(random_state=3, max_iter=5).fit(X, y)
    b = ffnn.MLPClassifier(random_state=3, max_iter=5).fit(X, y)
    c = ffnn.MLPClassifier(random_state=4, max_iter=5).fit(X, y)
    assert all(np.array_equal(u, v) for u, v in zip(a.coefs_, b.coefs_))
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_alpha_is_an_l2_penalty_in_the_loss_curve_and_the_weights():
    X, y = blobs()
    sgd = dict(solver="sgd", learning_rate_init=0.01, random_state=0, max_iter=200)
    free = ffnn.MLPClassifier(alpha=0.0, **sgd).fit(X, y)
    held = ffnn.MLPClassifier(alpha=50.0, **sgd).fit(X, y)
    norm = lambda m: sum(float((w.astype(np.float64) ** 2).sum()) for w in m.coefs_)
    assert norm(held) < 0.5 * norm(free)
    # The loss curve includes alpha/2·‖W‖²·(batches / n): scikit-learn's accounting.
    batches = 2  # 300 rows in batches of 200
    assert held.loss_curve_[-1] > 0.5 * 50.0 * norm(held) * batches / 300


def test_early_stopping_keeps_the_best_epoch():
    X, y = blobs(n=600, seed=2)
    m = ffnn.MLPClassifier(early_stopping=True, random_state=0, max_iter=500, n_iter_no_change=5).fit(X, y)
    assert m.n_iter_ < 500
    assert len(m.validation_scores_) == m.n_iter_
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert m.best_loss_ is None


def test_partial_fit_continues_and_needs_classes_first():
    X, y = blobs(n=400)
    m = ffnn.MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        m.partial_fit(X, y)
    for start in range(0, 400, 100):
        m.partial_fit(X[start:start + 100], y[start:start + 100], classes=[0, 1, 2, 5])
    assert list(m.classes_) == [0, 1, 2, 5] and m.n_outputs_ == 4
    assert m.n_iter_ == 4 and m.t_ == 400
    first = m.loss_curve_[0]
    for _ in range(20):
        m.partial_fit(X, y)
    assert m.loss_curve_[-1] < first / 3 and len(m.loss_curve_) == 24
    with pytest.raises(ValueError, match=r"y has classes not seen in fit or given to partial_fit: \[7\]"):
        m.partial_fit(X[:3], [0, 1, 7])
    # After fit, partial_fit goes on from the fitted network.
    f = ffnn.MLPClassifier(random_state=0, max_iter=3).fit(X, y)
    before = f.coefs_[0].copy()
    f.partial_fit(X, y)
    assert f.n_iter_ == 4 and not np.array_equal(before, f.coefs_[0])


def test_pickle_save_and_load_give_the_same_predictions(tmp_path):
    X, y = blobs()
    labels = np.array(["a", "b", "c"])[y]
    m = ffnn.MLPClassifier(hidden_layer_sizes=(12,), random_state=0, max_iter=20).fit(X, labels)
    again = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(again.predict_proba(X), m.predict_proba(X))
    assert again.get_params() == m.get_params() and again.loss_curve_ == m.loss_curve_
    # A pickled model trains on exactly as the original (optimizer state and RNG included).
    m.partial_fit(X, labels)
    again.partial_fit(X, labels)
    np.testing.assert_array_equal(again.coefs_[0], m.coefs_[0])
    path = m.save(tmp_path / "model.safetensors")
    loaded = ffnn.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))
    assert list(loaded.classes_) == ["a", "b", "c"] and loaded.hidden_layer_sizes == (12,)
    assert loaded.n_iter_ == m.n_iter_


def test_pipelines_cross_validation_and_a_parallel_grid_search():
    X, y = blobs(n=240)
    pipe = make_pipeline(StandardScaler(), ffnn.MLPClassifier(random_state=0, max_iter=40))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.9
    search = GridSearchCV(
        ffnn.MLPClassifier(random_state=0, max_iter=20, n_threads=1),
        {"hidden_layer_sizes": [(8,), (16,)], "learning_rate_init": [1e-3, 1e-2]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert search.best_score_ > 0.9 and len(search.cv_results_["params"]) == 4


@pytest.mark.parametrize(
    "params, message",
    [
        ({"activation": "tanh"}, "MLPClassifier: activation='tanh' is not valid; ffnn has 'relu' and 'logistic'"),
        ({"solver": "lbfgs"}, "MLPClassifier: solver='lbfgs' is not valid; ffnn has 'adam' and 'sgd'"),
        ({"hidden_layer_sizes": (10, 0)}, "MLPClassifier: hidden_layer_sizes=(10, 0) is not valid; every layer needs an int ≥ 1 units"),
        ({"learning_rate_init": -1.0}, "MLPClassifier: learning_rate_init=-1.0 is not valid; give a number in (0, inf)"),
        ({"momentum": 1.5}, "MLPClassifier: momentum=1.5 is not valid; give a number in [0, 1)"),
        ({"batch_size": 0}, "MLPClassifier: batch_size=0 is not valid; give an int ≥ 1 or 'auto'"),
        ({"augment": {"spin": 3}}, "unknown keys ['spin']"),
        ({"augment": True}, "augment needs images: a table has no pixels to distort"),
        ({"image_shape": (2, 2)}, "MLPClassifier: image_shape=(2, 2) is not valid; X has 6 features, not 2×2"),
        ({"lr_schedule": "linear"}, "lr_schedule='linear' is not valid"),
    ],
)
def test_bad_parameters_are_one_line_value_errors(params, message):
    X, y = blobs(n=30)
    with pytest.raises(ValueError) as e:
        ffnn.MLPClassifier(**params).fit(X, y)
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_bad_data_and_paths_are_python_exceptions(tmp_path):
    X, y = blobs(n=30)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="X holds NaN at row 3, column 2; every feature must be a finite number"):
        ffnn.MLPClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ffnn.MLPClassifier().fit(X, y[:-1])
    m = ffnn.MLPClassifier(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but MLPClassifier is expecting 6 features"):
        m.predict(X[:, :5])
    with pytest.raises(ValueError, match="y has 300 classes; ffnn takes at most 256"):
        ffnn.MLPClassifier().fit(np.zeros((300, 2)), np.arange(300))
    with pytest.raises(FileNotFoundError, match="no-such-model.safetensors"):
        ffnn.load(tmp_path / "no-such-model.safetensors")
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        ffnn.load_dataset(tmp_path / "no-such-folder")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk.safetensors"):
        ffnn.load(tmp_path / "junk.safetensors")
    # The native module checks too, for callers that skip the estimator.
    with pytest.raises(ValueError, match="X holds NaN at row 0, column 1; every feature must be a finite number"):
        ffnn._ffnn.Data(np.array([[0, np.nan]], dtype=np.float32), np.zeros(1, dtype=np.uint8), 1)
    with pytest.raises(ValueError, match="X has 2 rows but y has 1 labels"):
        ffnn._ffnn.Data(np.zeros((2, 2), dtype=np.float32), np.zeros(1, dtype=np.uint8), 1)


def big_problem():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(20000, 400)).astype(np.float32)
    return X, rng.integers(0, 10, size=20000)


def test_ctrl_c_interrupts_fit_promptly_and_leaves_the_estimator_as_it_was():
    X, y = big_problem()
    m = ffnn.MLPClassifier(hidden_layer_sizes=(512, 512), max_iter=1000, random_state=0)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, y)
    waited = time.monotonic() - started
    assert waited < 2.0, f"KeyboardInterrupt came {waited - 0.5:.2f} s after the signal"
    assert not hasattr(m, "classes_") and not hasattr(m, "n_features_in_")
    # partial_fit: the earlier state survives an interrupted call.
    m.partial_fit(X[:500], y[:500], classes=np.arange(10))
    before = [w.copy() for w in m.coefs_], m.n_iter_
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in range(1000):
            m.partial_fit(X, y)
    assert m.n_iter_ >= before[1]
    # Whatever call was interrupted, the estimator is as one of its finished calls left it.
    assert len(m.loss_curve_) == m.n_iter_


def ticks_during(work):
    """How many times another Python thread got to run (1 ms sleeps) while `work()` ran: it
    would be stuck behind a held GIL."""
    counted = []
    done = threading.Event()

    def count():
        while not done.is_set():
            counted.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        work()
    finally:
        done.set()
        t.join()
    return len(counted)


def test_training_and_prediction_release_the_gil():
    X, y = big_problem()
    m = ffnn.MLPClassifier(hidden_layer_sizes=(256,), max_iter=2, random_state=0)
    assert ticks_during(lambda: m.fit(X, y)) > 50

    def predict_for_half_a_second():
        started = time.monotonic()
        while time.monotonic() - started < 0.5:
            m.predict_proba(X)

    assert ticks_during(predict_for_half_a_second) > 50


def test_a_model_saved_from_python_evaluates_the_same_in_the_ffnn_command(mnist, ffnn_command, tmp_path):
    X_train, y_train, X_test, y_test = mnist
    m = ffnn.MLPClassifier(hidden_layer_sizes=(64,), max_iter=1, random_state=1, batch_size=100).fit(X_train, y_train)
    P = m.predict_proba(X_test)
    path = m.save(tmp_path / "model.safetensors")
    out = subprocess.run(
        [ffnn_command, "eval", "--model", path, "--data", mnist_dir(), "--json"], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    predicted = m.predict(X_test)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    assert report["confusion_matrix"] == confusion.tolist()
    assert report["accuracy"] == pytest.approx(np.mean(predicted == y_test), abs=1e-6) and report["accuracy"] > 0.9
    loss = -np.mean(np.log(P[np.arange(len(y_test)), y_test]))
    assert report["loss"] == pytest.approx(loss, rel=1e-4)
    assert report["architecture"] == "784-64-10 relu"


def test_the_ffnn_command_and_python_train_the_same_bits_and_read_each_others_models(mnist, ffnn_command, tmp_path):
    X_train, y_train, X_test, y_test = mnist
    run = tmp_path / "run"
    flags = "--hidden 32 --optimizer adam --lr 0.001 --batch-size 100 --init he --lr-schedule constant --dropout 0"
    flags += " --label-smoothing 0 --weight-decay 0 --no-augment --epochs 1 --seed 1 --threads 2 --json"
    subprocess.run([ffnn_command, "train", "--data", mnist_dir(), *flags.split(), "--out", run], check=True, capture_output=True)
    model = run / "model.safetensors"
    report = json.loads(
        subprocess.run([ffnn_command, "eval", "--model", model, "--data", mnist_dir(), "--json"], capture_output=True, text=True, check=True).stdout
    )
    m = ffnn.load(model)
    assert list(m.classes_) == list(range(10)) and m.hidden_layer_sizes == (32,) and m.image_shape == (28, 28)
    predicted = m.predict(X_test)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    assert report["confusion_matrix"] == confusion.tolist()
    # The same settings from Python: the same network, bit for bit (pixels k/255 are read as bytes,
    # as the command reads them; same seed, same thread count).
    same = ffnn.MLPClassifier(hidden_layer_sizes=(32,), alpha=0.0, batch_size=100, max_iter=1, random_state=1, n_threads=2)
    same.fit(X_train, y_train)
    for a, b in zip(same.coefs_ + same.intercepts_, m.coefs_ + m.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_load_dataset_gives_the_real_mnist(mnist):
    X_train, y_train, X_test, y_test = mnist
    assert X_train.shape == (60000, 784) and X_train.dtype == np.float32 and 0 <= X_train.min() and X_train.max() <= 1
    assert X_test.shape == (10000, 784) and y_train.dtype == np.int64
    # The label counts of the shared README.
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def readme_python_blocks():
    text = (ROOT / "README.md").read_text().split("\n## Python\n")[1].split("\n## ")[0]
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


@pytest.mark.parametrize("block", range(2))
def test_the_readme_python_examples_run_as_written(block, tmp_path):
    blocks = readme_python_blocks()
    assert len(blocks) == 2, "the README's Python examples"
    code = blocks[block].replace("../shared/data/mnist", str(mnist_dir()))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    if block == 0:
        accuracy = float(out.stdout.split("test accuracy ")[1])
        assert accuracy >= 0.974, out.stdout
        assert (tmp_path / "mnist.safetensors").exists()
    else:
        assert out.stdout == "gradients agree to 1e-5\n"


def test_verbose_prints_scikit_learns_lines(capsys):
    X, y = blobs(n=60)
    ffnn.MLPClassifier(max_iter=2, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2"]
    assert all(line.split(", loss = ")[1].replace(".", "").isdigit() for line in lines)


def test_augmentation_distorts_image_rows(mnist):
    X_train, y_train, _, _ = mnist
    X, y = X_train[:3000], y_train[:3000]
    plain = ffnn.MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0).fit(X, y)
    distorted = ffnn.MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0, augment={"rotation": 20}).fit(X, y)
    assert not np.array_equal(plain.coefs_[0], distorted.coefs_[0])
    # It still learns (77% here after 5 epochs, against 87% undistorted: a harder task).
    assert 0.7 < distorted.score(X, y) < plain.score(X, y)
    # Non-square images need their shape; a wrong one is refused.
    flat = ffnn.MLPClassifier(max_iter=1, augment=True, image_shape=(14, 56)).fit(X[:200], y[:200])
    assert flat.n_features_in_ == 784
    with pytest.raises(ValueError, match=r"X has 784 features, not 10×10"):
        ffnn.MLPClassifier(augment=True, image_shape=(10, 10)).fit(X[:200], y[:200])


def write_png(path, pixels):
    """A grayscale 8-bit PNG of `pixels` (rows of ints), written with zlib alone."""
    import struct
    import zlib

    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_load_dataset_reads_png_trees_folders_and_zips(tmp_path):
    import shutil

    tree = tmp_path / "tree"
    for part, count in (("train", 3), ("test", 2)):
        for label in (0, 1):
            for k in range(count):
                write_png(tree / part / str(label) / f"{k:04}.png", [[(label * 200 + k * 10 + c) % 256 for c in range(5)] for _ in range(4)])
    X_train, y_train, X_test, y_test = ffnn.load_dataset(tree)
    assert X_train.shape == (6, 20) and X_test.shape == (4, 20)
    assert sorted(y_train.tolist()) == [0, 0, 0, 1, 1, 1] and sorted(y_test.tolist()) == [0, 0, 1, 1]
    first = X_train[y_train.tolist().index(1)]
    assert first[0] * 255 == pytest.approx(200, abs=1e-3)
    shutil.make_archive(str(tmp_path / "tree"), "zip", tree)
    zipped = ffnn.load_dataset(tmp_path / "tree.zip")
    for a, b in zip(zipped, (X_train, y_train, X_test, y_test)):
        np.testing.assert_array_equal(np.sort(a, axis=0), np.sort(b, axis=0))


def test_onnx_export_runs_in_onnx_runtime_with_the_same_predictions(mnist, ffnn_command, tmp_path):
    """`ffnn export --onnx` checked by real ONNX tooling: the onnx checker, then ONNX Runtime on
    all 10,000 MNIST test images against ffnn's own probabilities (to 1e-5, same classes),
    and against `ffnn predict --json` on test images written as PNG files."""
    import onnx
    import onnxruntime

    _, _, X_test, y_test = mnist
    run = tmp_path / "run"
    subprocess.run(
        [ffnn_command, "train", "--data", mnist_dir(), "--hidden", "64", "--epochs", "1", "--out", run, "--json"],
        check=True,
        capture_output=True,
    )
    model_file, onnx_file = run / "model.safetensors", tmp_path / "mnist.onnx"
    subprocess.run([ffnn_command, "export", model_file, "--onnx", onnx_file], check=True, capture_output=True)
    graph = onnx.load(onnx_file)
    onnx.checker.check_model(graph, full_check=True)
    assert [n.op_type for n in graph.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    assert graph.opset_import[0].version >= 13
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["class_names"]) == [str(d) for d in range(10)] and meta["dataset"] == "MNIST"
    P = session.run(["probabilities"], {"input": X_test})[0]
    ours = ffnn.load(model_file).predict_proba(X_test)
    assert P.shape == (10000, 10)
    assert np.abs(P - ours).max() < 1e-5
    np.testing.assert_array_equal(P.argmax(axis=1), ours.argmax(axis=1))
    # `ffnn predict` on some of the same images, as PNG files.
    images = []
    for i in range(0, 10000, 500):
        path = tmp_path / f"test{i:05}.png"
        write_png(path, np.round(X_test[i].reshape(28, 28) * 255).astype(int).tolist())
        images.append(path)
    out = subprocess.run([ffnn_command, "predict", "--model", model_file, "--json", *images], capture_output=True, text=True, check=True)
    for line, i in zip(out.stdout.splitlines(), range(0, 10000, 500)):
        predicted = json.loads(line)
        assert predicted["class"] == int(P[i].argmax()) and predicted["name"] == str(predicted["class"])
        assert np.abs(np.array(predicted["probabilities"]) - P[i]).max() < 1e-5


def test_class_names_cross_between_python_and_the_command(ffnn_command, tmp_path):
    """A Python model with string labels shows them in `ffnn predict`; a model `ffnn train`
    wrote for Fashion-MNIST loads with its class names as classes_."""
    fashion = fashion_dir()
    X_train, y_train, X_test, y_test = ffnn.load_dataset(fashion)
    run = tmp_path / "run"
    subprocess.run(
        [ffnn_command, "train", "--data", fashion, "--hidden", "32", "--iterations", "200", "--out", run, "--json"],
        check=True,
        capture_output=True,
    )
    m = ffnn.load(run / "model.safetensors")
    assert list(m.classes_)[:2] == ["T-shirt/top", "Trouser"] and m.classes_[9] == "Ankle boot"
    assert set(m.predict(X_test[:50])) <= set(m.classes_)
    # From Python with names: the command shows them.
    names = np.array(["top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"])
    p = ffnn.MLPClassifier(hidden_layer_sizes=(16,), max_iter=1, random_state=0).fit(X_train[:2000], names[y_train[:2000]])
    p.save(tmp_path / "named.safetensors")
    image = tmp_path / "one.png"
    write_png(image, np.round(X_test[0].reshape(28, 28) * 255).astype(int).tolist())
    out = subprocess.run([ffnn_command, "predict", "--model", tmp_path / "named.safetensors", "--json", image], capture_output=True, text=True, check=True)
    predicted = json.loads(out.stdout)
    assert predicted["name"] == p.predict(X_test[:1])[0] == p.classes_[predicted["class"]]
