"""The seed assignment's functions, computed by ffnn's Rust code, on numpy arrays.

For a student to check their own numpy implementation against, step by step. The conventions
are the seed's, with rows as samples (its equation (1), "the transposed version of W"):

- ``X`` is n × p (one sample a row), labels ``y`` are ints 0 … M−1;
- ``parameters`` is ``{"W1": W1, "b1": b1, "W2": …}`` with ``W_l`` of shape
  (units of layer l−1, units of layer l) and ``b_l`` of shape (units of layer l,), so that
  ``Z_l = A_{l−1} @ W_l + b_l``;
- the last layer's output ``Z_L`` goes through ``softmax``; the cost is the mean
  cross-entropy ``J = (1/n) Σ_i [ln Σ_m exp(z_im) − z_{i,y_i}]`` (equation 2);
- gradients come back as ``{"dW1": dJ/dW1, "db1": dJ/db1, …}``, shaped like the parameters.

Everything is float32, as ffnn computes; compare with a tolerance (1e-5 is comfortable).

Example::

    import numpy as np
    from ffnn import seed

    parameters = seed.initialize_parameters([784, 64, 10], seed=1)
    Z, model_state = seed.model_forward(X, parameters, "relu")
    cost = seed.compute_loss(Z, y)
    grads = seed.model_backward(y, model_state, parameters)
    parameters = seed.update_parameters(parameters, grads, learning_rate=0.1)
"""

import numpy as np

from . import _ffnn

__all__ = [
    "initialize_parameters",
    "linear_forward",
    "activation_forward",
    "sigmoid",
    "relu",
    "model_forward",
    "softmax",
    "compute_loss",
    "model_backward",
    "update_parameters",
    "predict",
]


def _f32(a, name, ndim):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, it has {a.ndim} (shape {a.shape})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinity")
    return a


def _labels(y):
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 1-d array of class numbers 0 … M−1, got dtype {y.dtype} and shape {y.shape}")
    return np.ascontiguousarray(y, dtype=np.int64)


def _layers(parameters, prefix=""):
    """``[(W1, b1), (W2, b2), …]`` from ``{"W1": …, "b1": …, …}``."""
    if not isinstance(parameters, dict):
        raise ValueError(f"parameters must be a dict {{'{prefix}W1': …, '{prefix}b1': …}}, got {type(parameters).__name__}")
    layers = []
    l = 1
    while f"{prefix}W{l}" in parameters:
        if f"{prefix}b{l}" not in parameters:
            raise ValueError(f"parameters have {prefix}W{l} but no {prefix}b{l}")
        layers.append((_f32(parameters[f"{prefix}W{l}"], f"{prefix}W{l}", 2), _f32(parameters[f"{prefix}b{l}"], f"{prefix}b{l}", 1)))
        l += 1
    if not layers:
        raise ValueError(f"parameters have no {prefix}W1: expected keys {prefix}W1, {prefix}b1, {prefix}W2, …")
    return layers


def _as_dict(layers, prefix=""):
    out = {}
    for l, (w, b) in enumerate(layers, start=1):
        out[f"{prefix}W{l}"] = w
        out[f"{prefix}b{l}"] = b
    return out


def _activation(activation):
    if activation not in ("relu", "sigmoid"):
        raise ValueError(f"activation {activation!r}: valid values are 'relu' and 'sigmoid'")
    return activation


def initialize_parameters(layer_dims, seed=1, std=0.01):
    """``W_l ~ N(0, std²)``, ``b_l = 0`` for layer sizes ``layer_dims`` = [p, hidden…, M]
    (the seed's choice, σ = 0.01). Returns ``{"W1": …, "b1": …, …}``; the same seed gives the
    same parameters as ffnn's ``initialize_parameters`` with ``Init::Normal``."""
    dims = [int(d) for d in layer_dims]
    return _as_dict(_ffnn.seed_initialize_parameters(dims, int(seed), float(std)))


def linear_forward(A_prev, W, b):
    """``Z = A_prev @ W + b`` (b added to every row)."""
    return _ffnn.seed_linear_forward(_f32(A_prev, "A_prev", 2), _f32(W, "W", 2), _f32(b, "b", 1))


def activation_forward(Z, activation):
    """``A = h(Z)`` element-wise, ``h`` = ``'relu'`` (max(0, z)) or ``'sigmoid'`` (1/(1 + e^−z))."""
    return _ffnn.seed_activation_forward(_f32(Z, "Z", 2), _activation(activation))


def sigmoid(Z):
    """``1 / (1 + exp(−Z))`` (seed equation 3a)."""
    return activation_forward(np.atleast_2d(Z), "sigmoid").reshape(np.shape(Z))


def relu(Z):
    """``max(0, Z)`` (seed equation 3b)."""
    return activation_forward(np.atleast_2d(Z), "relu").reshape(np.shape(Z))


def model_forward(X, parameters, activation="relu"):
    """The forward pass of every layer: ``A_0 = X``, ``Z_l = A_{l−1} @ W_l + b_l``,
    ``A_l = h(Z_l)`` for hidden layers. Returns ``(Z_L, model_state)``: the last layer's linear
    output (the logits, before softmax) and what ``model_backward`` needs:
    ``{"A0": X, "A1": …, "A{L−1}": …, "Z{L}": Z_L, "activation": activation}``."""
    X = _f32(X, "X", 2)
    layers = _layers(parameters)
    outputs = _ffnn.seed_model_forward(X, layers, _activation(activation))
    L = len(layers)
    state = {"A0": X, "activation": activation}
    for l, out in enumerate(outputs[:-1], start=1):
        state[f"A{l}"] = out
    state[f"Z{L}"] = outputs[-1]
    return outputs[-1], state


def softmax(Z):
    """``p_im = exp(z_im) / Σ_l exp(z_il)`` for each row (seed equation 4), computed after
    subtracting each row's maximum so that large logits do not overflow."""
    return _ffnn.seed_softmax(_f32(Z, "Z", 2))


def compute_loss(Z, y):
    """The mean cross-entropy of logits ``Z`` (n × M) for labels ``y`` (seed equation 2):
    ``J = (1/n) Σ_i [ln Σ_m exp(z_im) − z_{i,y_i}]``, stabilized by subtracting each row's max."""
    return float(_ffnn.seed_compute_loss(_f32(Z, "Z", 2), _labels(y)))


def model_backward(y, model_state, parameters):
    """``dJ/dW_l`` and ``dJ/db_l`` of every layer from ``model_forward``'s ``model_state``:
    ``dZ_L = (softmax(Z_L) − Ỹ)/n``; then for l = L … 1: ``dW_l = A_{l−1}ᵀ @ dZ_l``,
    ``db_l = Σ_rows dZ_l``, ``dA_{l−1} = dZ_l @ W_lᵀ``, ``dZ_{l−1} = dA_{l−1} ⊙ h′(Z_{l−1})``
    (with ``h′`` from the output: ``A(1 − A)`` for sigmoid, ``A > 0`` for ReLU).
    Returns ``{"dW1": …, "db1": …, …}``."""
    layers = _layers(parameters)
    L = len(layers)
    if not isinstance(model_state, dict) or "A0" not in model_state or f"Z{L}" not in model_state:
        raise ValueError(f"model_state must be what model_forward returned for these parameters (keys A0 … A{L - 1}, Z{L})")
    X = _f32(model_state["A0"], "model_state['A0']", 2)
    outputs = [_f32(model_state[f"A{l}"], f"model_state['A{l}']", 2) for l in range(1, L)]
    outputs.append(_f32(model_state[f"Z{L}"], f"model_state['Z{L}']", 2))
    grads = _ffnn.seed_model_backward(X, layers, _activation(model_state.get("activation", "relu")), outputs, _labels(y))
    return _as_dict(grads, prefix="d")


def update_parameters(parameters, grads, learning_rate):
    """One step of gradient descent, ``W_l ← W_l − α·dW_l``, ``b_l ← b_l − α·db_l``; returns the
    new parameters (the arguments are not changed)."""
    return _as_dict(_ffnn.seed_update_parameters(_layers(parameters), _layers(grads, prefix="d"), float(learning_rate)))


def predict(X, parameters, y=None, activation="relu"):
    """The softmax outputs ``p_i`` of every row of ``X`` and, when labels ``y`` are given, the
    accuracy (the fraction of rows whose most probable class is the label): ``(P, accuracy)``."""
    Z, _ = model_forward(X, parameters, activation)
    P = softmax(Z)
    accuracy = None if y is None else float(np.mean(np.argmax(P, axis=1) == _labels(y)))
    return P, accuracy
