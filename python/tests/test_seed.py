"""ffnn.seed against a plain numpy implementation of the seed assignment (float64), and its
gradients against finite differences: what a student's own code is compared with."""

import numpy as np
import pytest

from ffnn import seed


# ----- the reference: the seed's functions in numpy, rows as samples ------------------------


def np_forward(X, params, activation):
    L = len(params) // 2
    A, states = X, [X]
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        if l < L:
            A = np.maximum(Z, 0) if activation == "relu" else 1 / (1 + np.exp(-Z))
            states.append(A)
        else:
            return Z, states


def np_loss(Z, y):
    Zs = Z - Z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(Zs).sum(axis=1)) - Zs[np.arange(len(y)), y]))


def np_softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def np_backward(Z, states, y, params, activation):
    L = len(params) // 2
    n = len(y)
    dZ = np_softmax(Z)
    dZ[np.arange(n), y] -= 1
    dZ /= n
    grads = {}
    for l in range(L, 0, -1):
        A_prev = states[l - 1]
        grads[f"dW{l}"] = A_prev.T @ dZ
        grads[f"db{l}"] = dZ.sum(axis=0)
        if l > 1:
            dA = dZ @ params[f"W{l}"].T
            dZ = dA * (A_prev > 0) if activation == "relu" else dA * A_prev * (1 - A_prev)
    return grads


def problem(seed_=0, dims=(7, 6, 5, 3), n=9):
    rng = np.random.default_rng(seed_)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.normal(0, 0.7, size=(dims[l - 1], dims[l])).astype(np.float32)
        params[f"b{l}"] = rng.normal(0, 0.2, size=dims[l]).astype(np.float32)
    X = rng.uniform(0, 1, size=(n, dims[0])).astype(np.float32)
    y = np.arange(n) % dims[-1]
    return X, y, params


def f64(params):
    return {k: v.astype(np.float64) for k, v in params.items()}


# ----- the tests ------------------------------------------------------------------------------


def test_initialize_parameters_has_the_seed_shapes_and_spread():
    p = seed.initialize_parameters([784, 64, 10], seed=3)
    assert sorted(p) == ["W1", "W2", "b1", "b2"]
    assert p["W1"].shape == (784, 64) and p["b1"].shape == (64,) and p["W2"].shape == (64, 10)
    assert np.all(p["b1"] == 0) and np.all(p["b2"] == 0)
    assert abs(p["W1"].std() - 0.01) < 0.0005 and abs(p["W1"].mean()) < 0.0005
    again = seed.initialize_parameters([784, 64, 10], seed=3)
    assert all(np.array_equal(p[k], again[k]) for k in p)
    assert not np.array_equal(p["W1"], seed.initialize_parameters([784, 64, 10], seed=4)["W1"])


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_every_function_matches_numpy(activation):
    X, y, params = problem()
    ref_Z, ref_states = np_forward(X.astype(np.float64), f64(params), activation)
    # linear_forward and activation_forward, one layer
    Z1 = seed.linear_forward(X, params["W1"], params["b1"])
    np.testing.assert_allclose(Z1, X.astype(np.float64) @ params["W1"] + params["b1"], atol=1e-5)
    A1 = seed.activation_forward(Z1, activation)
    np.testing.assert_allclose(A1, ref_states[1], atol=1e-5)
    # the whole forward pass, its state, the loss, softmax
    Z, state = seed.model_forward(X, params, activation)
    np.testing.assert_allclose(Z, ref_Z, atol=1e-5)
    for l in (1, 2):
        np.testing.assert_allclose(state[f"A{l}"], ref_states[l], atol=1e-5)
    assert abs(seed.compute_loss(Z, y) - np_loss(ref_Z, y)) < 1e-5
    np.testing.assert_allclose(seed.softmax(Z), np_softmax(ref_Z), atol=1e-6)
    # the backward pass, in the parameters' layout
    grads = seed.model_backward(y, state, params)
    ref = np_backward(ref_Z, ref_states, y, f64(params), activation)
    assert sorted(grads) == sorted(ref) == ["dW1", "dW2", "dW3", "db1", "db2", "db3"]
    for k in ref:
        assert grads[k].shape == ref[k].shape
        np.testing.assert_allclose(grads[k], ref[k], atol=1e-5, err_msg=k)
    # one step of gradient descent
    stepped = seed.update_parameters(params, grads, 0.5)
    for k in params:
        np.testing.assert_allclose(stepped[k], params[k] - 0.5 * grads["d" + k], atol=1e-6)
    # predict: softmax outputs and accuracy
    P, accuracy = seed.predict(X, params, y, activation)
    np.testing.assert_allclose(P, np_softmax(ref_Z), atol=1e-6)
    assert accuracy == np.mean(np.argmax(np_softmax(ref_Z), axis=1) == y)


def test_gradients_match_finite_differences():
    X, y, params = problem(1, dims=(5, 4, 3))
    Z, state = seed.model_forward(X, params, "sigmoid")
    grads = seed.model_backward(y, state, params)
    h = 1e-3
    for k in params:
        flat = params[k].reshape(-1)
        for i in range(flat.size):
            plus, minus = {**params, k: params[k].copy()}, {**params, k: params[k].copy()}
            plus[k].reshape(-1)[i] += h
            minus[k].reshape(-1)[i] -= h
            numeric = (seed.compute_loss(seed.model_forward(X, plus, "sigmoid")[0], y)
                       - seed.compute_loss(seed.model_forward(X, minus, "sigmoid")[0], y)) / (2 * h)
            assert abs(numeric - grads["d" + k].reshape(-1)[i]) < 2e-3, (k, i)


def test_sigmoid_and_relu_take_any_shape():
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(seed.relu(z), [0, 0, 3])
    np.testing.assert_allclose(seed.sigmoid(z), 1 / (1 + np.exp(-z)), atol=1e-7)


def test_compute_loss_is_stable_for_huge_logits():
    Z = np.array([[1000.0, 0.0], [0.0, -1000.0]], dtype=np.float32)
    assert seed.compute_loss(Z, np.array([0, 1])) == pytest.approx(500.0, rel=1e-6)


def test_bad_inputs_are_value_errors_with_one_line():
    X, y, params = problem()
    cases = [
        (lambda: seed.linear_forward(X, params["W2"], params["b2"]), "A_prev has 7 columns, W has 6 rows"),
        (lambda: seed.activation_forward(X, "tanh"), "activation 'tanh': valid values are 'relu' and 'sigmoid'"),
        (lambda: seed.compute_loss(seed.model_forward(X, params)[0], y + 1), "label 3 is not a class of the model's 3 (0 to 2)"),
        (lambda: seed.compute_loss(np.ones((2, 3)), np.array([0.5, 1.0])), "y must be a 1-d array of class numbers"),
        (lambda: seed.model_forward(X, {"W1": params["W1"]}), "parameters have W1 but no b1"),
        (lambda: seed.model_forward(X, {"W1": params["W1"], "b1": params["b1"], "W2": params["W3"], "b2": params["b3"]}),
         "W2 has 5 rows, but layer 1 has 6 outputs"),
        (lambda: seed.model_forward(np.full((2, 7), np.nan), params), "X holds NaN or infinity"),
        (lambda: seed.initialize_parameters([3]), "layer_dims [3]: at least two sizes"),
        (lambda: seed.update_parameters(params, {"dW1": params["W1"], "db1": params["b1"]}, 0.1), "the gradients' shapes"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError) as e:
            call()
        assert message in str(e.value) and "\n" not in str(e.value), str(e.value)
