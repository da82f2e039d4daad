"""``ffnn.MLPClassifier``: scikit-learn's estimator interface on ffnn's trainer.

The training itself (every forward pass, backward pass and optimizer step) runs in Rust, in
``ffnn._ffnn``; this module checks the parameters, encodes the labels, holds out a validation
set for early stopping and decides, epoch by epoch, when to stop, as scikit-learn's
``MLPClassifier`` does.
"""

import json
import math
import numbers
import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _ffnn

_ACTIVATIONS = {"relu": "relu", "logistic": "sigmoid"}
_SOLVERS = ("sgd", "adam")
_SCHEDULES = {
    "constant": {"kind": "constant"},
    "cosine": {"kind": "cosine", "warmup_fraction": 0.0},
    "one-cycle": {"kind": "one-cycle", "warmup_fraction": 0.2},
}
# Moderate distortions for MNIST (the library's Augment::default); a dict overrides any of them.
_AUGMENT_DEFAULTS = {
    "rotation": 12.0,
    "scale": 0.10,
    "shear": 10.0,
    "translate": 2.5,
    "elastic_alpha": 34.0,
    "elastic_sigma": 6.0,
}
# The library's model files keep these keys; a saved estimator adds its own.
_CLASSES_KEY = "ffnn.classes"
_PARAMS_KEY = "ffnn.sklearn_params"
_N_ITER_KEY = "ffnn.n_iter"
_MAX_CLASSES = 256


def _bad(name, value, valid):
    return ValueError(f"MLPClassifier: {name}={value!r} is not valid; {valid}")


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A multi-layer perceptron classifier trained by ffnn (Rust, all cores, GIL released).

    Parameters named as in :class:`sklearn.neural_network.MLPClassifier` mean the same:

    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer; ``()`` is softmax regression (one layer).
    activation : {'relu', 'logistic'}, default='relu'
    solver : {'adam', 'sgd'}, default='adam'
        'sgd' uses heavy-ball ``momentum`` (0: plain mini-batch gradient descent).
    alpha : float, default=1e-4
        L2 penalty: the cost gains ``alpha/2 · Σ‖W‖² / batch_size`` per mini-batch, so each weight
        gradient gains ``alpha · W / batch_size`` (scikit-learn's penalty, with the nominal
        batch size also for a smaller last batch).
    batch_size : int or 'auto', default='auto'
        'auto' is ``min(200, n_samples)``; larger values are cut to ``n_samples``.
    learning_rate_init : float, default=1e-3
    max_iter : int, default=200
        Epochs (passes over the training set).
    shuffle : bool, default=True
    random_state : int, RandomState or None, default=None
        An int is ffnn's seed (``ffnn train --seed``): the same seed, data and thread count give
        the same model bit for bit.
    tol, n_iter_no_change : default=1e-4, 10
        Stop once the training loss (or, with ``early_stopping``, the validation accuracy) has
        not improved by ``tol`` for ``n_iter_no_change`` consecutive epochs.
    verbose : bool, default=False
    momentum : float in [0, 1), default=0.9
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training set (stratified), stop when its
        accuracy stops improving, and keep the best epoch's weights.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : default=0.9, 0.999, 1e-8
        Adam's moment decays and ε.

    ffnn's own:

    dropout : float in [0, 1), default=0.0
        Inverted dropout on the hidden activations while training.
    label_smoothing : float in [0, 1), default=0.0
    weight_decay : float, default=0.0
        Decoupled weight decay λ (AdamW): ``W ← (1 − lr·λ)·W`` every step.
    lr_schedule : {'constant', 'cosine', 'one-cycle'} or dict, default='constant'
        How the learning rate changes over the ``max_iter`` epochs of ``fit`` (a dict is the
        library's ``Schedule`` as JSON, e.g. ``{"kind": "step", "every_epochs": 5, "gamma": 0.5}``).
        ``partial_fit`` trains at ``learning_rate_init``.
    augment : bool or dict, default=None
        Random distortions of every training batch of images: ``True`` for ffnn's defaults
        (rotation 12°, scale 0.1, shear 10°, translate 2.5 px, elastic α 34, σ 6), or a dict
        overriding any of them. Needs ``image_shape``.
    image_shape : (height, width) or None, default=None
        The images the rows of ``X`` are; by default square images when the number of features
        is a square (784 → 28×28), else plain features. Saved with the model (``ffnn predict``
        and ``ffnn serve`` read it).
    n_threads : int or None, default=None
        Threads for training and prediction; None: one per core.

    Attributes are scikit-learn's: ``classes_``, ``loss_``, ``best_loss_``, ``loss_curve_``,
    ``validation_scores_``, ``best_validation_score_``, ``t_``, ``coefs_``, ``intercepts_``
    (float32, ``coefs_[i]`` is inputs × outputs), ``n_features_in_``, ``n_iter_``, ``n_layers_``,
    ``n_outputs_``, ``out_activation_`` (``'softmax'``). ``loss_curve_`` holds each epoch's mean
    mini-batch cross-entropy plus the L2 penalty at the epoch's end.
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        dropout=0.0,
        label_smoothing=0.0,
        weight_decay=0.0,
        lr_schedule="constant",
        augment=None,
        image_shape=None,
        n_threads=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.augment = augment
        self.image_shape = image_shape
        self.n_threads = n_threads

    # ----- parameters -------------------------------------------------------------------

    def _hidden(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        try:
            sizes = list(sizes)
        except TypeError:
            raise _bad("hidden_layer_sizes", self.hidden_layer_sizes, "give an int or a tuple of ints ≥ 1") from None
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in sizes):
            raise _bad("hidden_layer_sizes", self.hidden_layer_sizes, "every layer needs an int ≥ 1 units")
        return [int(s) for s in sizes]

    def _threads(self):
        cores = _ffnn.usable_cores()
        if self.n_threads is None:
            return cores
        n = self.n_threads
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
            raise _bad("n_threads", n, "give an int ≥ 1, or None for one per core")
        if n > cores:
            warnings.warn(f"MLPClassifier: n_threads={n}: this machine has {cores} cores; using {cores}", stacklevel=3)
        return int(min(n, cores))

    def _check_params(self):
        """Checks every parameter; the first bad one is a ValueError naming it and what is valid."""

        def number(name, low, high, low_open=False, high_open=False):
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
            if not ok:
                left, right = "(" if low_open else "[", ")" if high_open else "]"
                raise _bad(name, value, f"give a number in {left}{low}, {high}{right}")

        def integer(name, low):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low):
                raise _bad(name, value, f"give an int ≥ {low}")

        self._hidden()
        if self.activation not in _ACTIVATIONS:
            raise _bad("activation", self.activation, "ffnn has 'relu' and 'logistic'")
        if self.solver not in _SOLVERS:
            raise _bad("solver", self.solver, "ffnn has 'adam' and 'sgd'")
        number("alpha", 0, math.inf, high_open=True)
        if not (self.batch_size == "auto" or (isinstance(self.batch_size, numbers.Integral) and not isinstance(self.batch_size, bool) and self.batch_size >= 1)):
            raise _bad("batch_size", self.batch_size, "give an int ≥ 1 or 'auto'")
        number("learning_rate_init", 0, math.inf, low_open=True, high_open=True)
        integer("max_iter", 1)
        number("tol", 0, math.inf, high_open=True)
        integer("n_iter_no_change", 1)
        number("momentum", 0, 1, high_open=True)
        number("validation_fraction", 0, 1, low_open=True, high_open=True)
        number("beta_1", 0, 1, high_open=True)
        number("beta_2", 0, 1, high_open=True)
        number("epsilon", 0, math.inf, low_open=True, high_open=True)
        number("dropout", 0, 1, high_open=True)
        number("label_smoothing", 0, 1, high_open=True)
        number("weight_decay", 0, math.inf, high_open=True)
        if not (isinstance(self.lr_schedule, dict) or self.lr_schedule in _SCHEDULES):
            raise _bad("lr_schedule", self.lr_schedule, "give 'constant', 'cosine', 'one-cycle' or a dict (the library's Schedule)")
        if self.augment not in (None, False, True) and not isinstance(self.augment, dict):
            raise _bad("augment", self.augment, "give None, True or a dict of rotation, scale, shear, translate, elastic_alpha, elastic_sigma")
        if isinstance(self.augment, dict):
            unknown = sorted(set(self.augment) - set(_AUGMENT_DEFAULTS))
            if unknown:
                raise _bad("augment", self.augment, f"unknown keys {unknown}; valid keys are {sorted(_AUGMENT_DEFAULTS)}")
        if self.image_shape is not None:
            shape = self.image_shape
            if not (isinstance(shape, (tuple, list)) and len(shape) == 2 and all(isinstance(s, numbers.Integral) and s >= 1 for s in shape)):
                raise _bad("image_shape", shape, "give (height, width), two ints ≥ 1, or None")
        self._threads()

    def _image_shape(self, features):
        if self.image_shape is not None:
            height, width = (int(s) for s in self.image_shape)
            if height * width != features:
                raise _bad("image_shape", self.image_shape, f"X has {features} features, not {height}×{width}")
            return height, width
        side = math.isqrt(features)
        return (side, side) if side * side == features else None

    def _batch_size(self, n_samples):
        """Rows per mini-batch for `n_samples` rows: 'auto' is min(200, n), larger is cut to n."""
        return min(200, n_samples) if self.batch_size == "auto" else int(min(self.batch_size, n_samples))

    def _config(self, n_samples, seed, open_ended=False):
        """The library's TrainConfig (as JSON) for these parameters and `n_samples` rows."""
        batch_size = self._batch_size(n_samples)
        if self.solver == "adam":
            optimizer = {"kind": "adam", "beta1": float(self.beta_1), "beta2": float(self.beta_2), "eps": float(self.epsilon)}
        elif self.momentum > 0:
            optimizer = {"kind": "momentum", "momentum": float(self.momentum)}
        else:
            optimizer = {"kind": "sgd"}
        schedule = self.lr_schedule if isinstance(self.lr_schedule, dict) else _SCHEDULES[self.lr_schedule]
        if open_ended:
            schedule = _SCHEDULES["constant"]
        augment = None
        if self.augment is True or isinstance(self.augment, dict):
            augment = {**_AUGMENT_DEFAULTS, **(self.augment if isinstance(self.augment, dict) else {})}
            augment = {k: float(v) for k, v in augment.items()}
        config = {
            "hidden": self._hidden(),
            "activation": _ACTIVATIONS[self.activation],
            "init": {"kind": "he" if self.activation == "relu" else "glorot"},
            "optimizer": optimizer,
            "learning_rate": float(self.learning_rate_init),
            "batch_size": int(batch_size),
            "length": {"iterations": 2**62} if open_ended else {"epochs": int(self.max_iter)},
            "eval_every": 0,
            "seed": int(seed),
            "schedule": schedule,
            "weight_decay": float(self.weight_decay),
            "label_smoothing": float(self.label_smoothing),
            "dropout": float(self.dropout),
            "augment": augment,
            "l2": float(self.alpha) / batch_size,
            "shuffle": bool(self.shuffle),
        }
        return json.dumps(config)

    def _seed(self):
        if isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool):
            return int(self.random_state) % 2**63
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    # ----- data -------------------------------------------------------------------------

    # NaN and infinity are refused by ffnn._ffnn as it reads X (in the pass that also tells
    # pixel rows apart), with the row and column at fault: scikit-learn's own check would be a
    # second pass over the data.
    def _validate(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float32, order="C", accept_sparse=False, ensure_all_finite=False)
        check_classification_targets(y)
        return X, y

    def _codes(self, y):
        codes = np.searchsorted(self.classes_, y)
        codes = np.minimum(codes, len(self.classes_) - 1)
        unknown = self.classes_[codes] != y
        if np.any(unknown):
            raise ValueError(f"MLPClassifier: y has classes not seen in fit or given to partial_fit: {np.unique(y[unknown]).tolist()}")
        return codes.astype(np.uint8)

    def _data(self, X, codes):
        return _ffnn.Data(X, codes, len(self.classes_), self._image_shape(X.shape[1]))

    # ----- training ---------------------------------------------------------------------

    def fit(self, X, y):
        """Trains a new network on ``X`` (n_samples × n_features) and labels ``y`` for up to
        ``max_iter`` epochs. Ctrl-C raises KeyboardInterrupt and leaves the estimator as before."""
        before = self.__dict__.copy()
        try:
            return self._fit(X, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y):
        self._check_params()
        threads = self._threads()
        X, y = self._validate(X, y, reset=True)
        self.classes_ = np.unique(y)
        if len(self.classes_) > _MAX_CLASSES:
            raise ValueError(f"MLPClassifier: y has {len(self.classes_)} classes; ffnn takes at most {_MAX_CLASSES}")
        codes = self._codes(y)
        seed = self._seed()
        X_val = codes_val = None
        if self.early_stopping:
            # Stratified as scikit-learn does, when every class can be in both parts.
            held_out = math.ceil(self.validation_fraction * len(codes))
            stratify = codes if held_out >= len(self.classes_) and np.bincount(codes).min() >= 2 else None
            X, X_val, codes, codes_val = train_test_split(
                X, codes, random_state=seed, test_size=self.validation_fraction, stratify=stratify
            )
            X = np.ascontiguousarray(X)
        data = self._data(X, codes)
        run = _ffnn.Run(self._config(X.shape[0], seed), data)
        state = _Progress(self, X.shape[0], early_stopping=self.early_stopping)
        for _ in range(self.max_iter):
            loss = run.train_epoch(data, threads)
            score = None
            if X_val is not None:
                score = float(np.mean(np.argmax(run.predict_proba(X_val, threads), axis=1) == codes_val))
            if state.epoch_done(run, loss, score):
                break
        else:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
            )
        self._run = state.best_run if self.early_stopping and state.best_run is not None else run
        state.finish(self)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``X``, ``y``, continuing the network (and the optimizer's state) of
        earlier calls or of ``fit``. The first call needs ``classes``, every label there will be.
        It trains at ``learning_rate_init``: ``lr_schedule`` (which spans ``fit``'s ``max_iter``
        epochs) and ``early_stopping`` apply to ``fit`` only, as in scikit-learn.
        Ctrl-C raises KeyboardInterrupt and leaves the estimator as before the call."""
        before = self.__dict__.copy()
        try:
            return self._partial_fit(X, y, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _partial_fit(self, X, y, classes):
        self._check_params()
        threads = self._threads()
        first = _check_partial_fit_first_call(self, classes)
        if first and len(self.classes_) > _MAX_CLASSES:
            raise ValueError(f"MLPClassifier: {len(self.classes_)} classes; ffnn takes at most {_MAX_CLASSES}")
        X, y = self._validate(X, y, reset=first or not hasattr(self, "_run"))
        codes = self._codes(y)
        data = self._data(X, codes)
        if first or not hasattr(self, "_run"):
            run = _ffnn.Run(self._config(X.shape[0], self._seed(), open_ended=True), data)
            self.loss_curve_ = []
            self.t_ = 0
            self.n_iter_ = 0
        else:
            run = self._run.copy()
        run.open_ended()
        loss = run.train_epoch(data, threads)
        state = _Progress(self, X.shape[0], early_stopping=False, continuing=True)
        state.epoch_done(run, loss, None)
        self._run = run
        state.finish(self)
        return self

    # ----- prediction -------------------------------------------------------------------

    def _probabilities(self, X):
        """The network's float32 class probabilities for `X`, checked as every prediction is."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32, order="C", accept_sparse=False, ensure_all_finite=False)
        return self._run.predict_proba(X, self._threads())

    def predict_proba(self, X):
        """Class probabilities, n_samples × n_classes (float64, in the order of ``classes_``)."""
        return self._probabilities(X).astype(np.float64)

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row of ``X``."""
        probabilities = self._probabilities(X)  # first: it refuses an unfitted estimator
        return self.classes_[np.argmax(probabilities, axis=1)]

    # ----- the fitted network -----------------------------------------------------------

    @property
    def coefs_(self):
        """Each layer's weights, inputs × outputs (float32)."""
        check_is_fitted(self)
        return [w for w, _ in self._run.layers()]

    @property
    def intercepts_(self):
        """Each layer's biases (float32)."""
        check_is_fitted(self)
        return [b for _, b in self._run.layers()]

    @property
    def n_layers_(self):
        """Layers including input and output, as scikit-learn counts them."""
        check_is_fitted(self)
        return len(self._run.sizes)

    @property
    def n_outputs_(self):
        """Output units: one per class."""
        check_is_fitted(self)
        return self._run.sizes[-1]

    @property
    def out_activation_(self):
        """Always ``'softmax'``."""
        check_is_fitted(self)
        return "softmax"

    # ----- files ------------------------------------------------------------------------

    def save(self, path):
        """Writes the network as the ``ffnn`` command's model file (safetensors, written
        atomically), with ``classes_`` and these parameters in its metadata; ``ffnn.load(path)``
        gives back an estimator that predicts the same, and ``ffnn eval``/``predict``/``serve``
        read it. Returns ``path``."""
        check_is_fitted(self)
        params = {k: v for k, v in self.get_params().items() if _json_value(v)}
        metadata = {
            _CLASSES_KEY: json.dumps([_plain(c) for c in self.classes_]),
            # What the ffnn command shows for each class (eval, predict, serve, export).
            "ffnn.class_names": json.dumps([str(_plain(c)) for c in self.classes_]),
            _PARAMS_KEY: json.dumps(params),
            _N_ITER_KEY: str(self.n_iter_),
        }
        self._run.save_model(os.fspath(path), metadata)
        return path

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class _Progress:
    """What ``fit`` tracks from epoch to epoch: the loss curve, and when to stop (scikit-learn's
    rule: no improvement by ``tol`` for more than ``n_iter_no_change`` epochs)."""

    def __init__(self, estimator, n_samples, early_stopping, continuing=False):
        self.estimator = estimator
        self.n_samples = n_samples
        self.early_stopping = early_stopping
        self.loss_curve = list(estimator.loss_curve_) if continuing else []
        self.t = estimator.t_ if continuing else 0
        self.n_iter = estimator.n_iter_ if continuing else 0
        self.validation_scores = []
        self.best_loss = min(self.loss_curve) if self.loss_curve else math.inf
        self.best_score = -math.inf
        self.best_run = None
        self.no_improvement = 0

    def epoch_done(self, run, loss, score):
        """Records an epoch; returns whether to stop."""
        e = self.estimator
        if e.alpha > 0:
            batch = e._batch_size(self.n_samples)
            squares = sum(float(np.dot(w.ravel(), w.ravel())) for w, _ in run.layers())
            loss += 0.5 * e.alpha * squares * math.ceil(self.n_samples / batch) / self.n_samples
        self.loss_curve.append(float(loss))
        self.t += self.n_samples
        self.n_iter += 1
        if e.verbose:
            print(f"Iteration {self.n_iter}, loss = {loss:.8f}")
        if self.early_stopping:
            self.validation_scores.append(score)
            if e.verbose:
                print(f"Validation score: {score:f}")
            self.no_improvement = self.no_improvement + 1 if score < self.best_score + e.tol else 0
            if score > self.best_score:
                self.best_score = score
                self.best_run = run.copy()
        else:
            self.no_improvement = self.no_improvement + 1 if loss > self.best_loss - e.tol else 0
            self.best_loss = min(self.best_loss, loss)
        if self.no_improvement > e.n_iter_no_change:
            if e.verbose:
                what = "Validation score" if self.early_stopping else "Training loss"
                print(f"{what} did not improve more than tol={e.tol} for {e.n_iter_no_change} consecutive epochs. Stopping.")
            return True
        return False

    def finish(self, e):
        e.loss_curve_ = self.loss_curve
        e.loss_ = self.loss_curve[-1]
        e.t_ = self.t
        e.n_iter_ = self.n_iter
        if self.early_stopping:
            e.validation_scores_ = self.validation_scores
            e.best_validation_score_ = self.best_score
            e.best_loss_ = None
        else:
            e.best_loss_ = self.best_loss
            e.validation_scores_ = None
            e.best_validation_score_ = None


def _plain(value):
    """A class label as a JSON value (numpy scalars to Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def _json_value(value):
    try:
        json.dumps(value)
        return True
    except TypeError:
        return False


def load(path):
    """An ``MLPClassifier`` from a model file: one written by ``MLPClassifier.save`` (classes and
    parameters as saved) or by ``ffnn train`` (classes by their names — ``"T-shirt/top"``, … for
    Fashion-MNIST — or 0, 1, … for numbered classes; parameters from the network's shape). It predicts at once; ``partial_fit`` continues it with a fresh optimizer state."""
    path = os.fspath(path)
    metadata = _ffnn.read_metadata(path)
    sizes = [int(s) for s in metadata["ffnn.sizes"].split(",")]
    params = json.loads(metadata.get(_PARAMS_KEY, "{}"))
    params.setdefault("hidden_layer_sizes", tuple(sizes[1:-1]))
    params.setdefault("activation", "logistic" if metadata.get("ffnn.activation") == "sigmoid" else "relu")
    if isinstance(params["hidden_layer_sizes"], list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if isinstance(params.get("image_shape"), list):
        params["image_shape"] = tuple(params["image_shape"])
    height, width = (int(s) for s in metadata.get("ffnn.input_shape", f"1x{sizes[0]}").split("x"))
    if "image_shape" not in params and height > 1:
        params["image_shape"] = (height, width)
    estimator = MLPClassifier(**params)
    estimator._check_params()
    # The configuration partial_fit would continue with; 200 rows make batch_size="auto" its usual 200.
    estimator._run = _ffnn.Run.from_model_file(path, estimator._config(200, estimator._seed(), open_ended=True))
    # Saved from Python: the labels as they were; from `ffnn train`: the class names, unless
    # they are just the numbers 0, 1, … (then ints, as the labels were).
    names = json.loads(metadata.get("ffnn.class_names", "[]"))
    if _CLASSES_KEY in metadata:
        classes = json.loads(metadata[_CLASSES_KEY])
    elif names and names != [str(c) for c in range(len(names))]:
        classes = names
    else:
        classes = list(range(sizes[-1]))
    if len(classes) != sizes[-1]:
        raise ValueError(f"{path}: {len(classes)} class names for a model of {sizes[-1]} classes")
    estimator.classes_ = np.array(classes)
    estimator.n_features_in_ = sizes[0]
    estimator.n_iter_ = int(metadata.get(_N_ITER_KEY, 0))
    estimator.loss_curve_ = []
    estimator.t_ = 0
    return estimator


def load_dataset(path):
    """``(X_train, y_train, X_test, y_test)`` from a dataset the ``ffnn`` command reads (an IDX
    folder, raw or gzip, or a PNG tree, folder or zip): pixels as float32 in [0, 1], one
    flattened image a row (what ffnn's models take), labels as int64."""
    (X_train, y_train), (X_test, y_test), _ = _ffnn.load_dataset(os.fspath(path))
    return X_train, y_train, X_test, y_test
