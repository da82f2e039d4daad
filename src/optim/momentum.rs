//! Gradient descent with momentum: the step keeps a running, decaying sum of past gradients,
//! so it speeds up along directions where gradients agree and damps the zig-zag where they don't.

/// `v ← μ·v + g`, `θ ← θ − α·v` (PyTorch's `SGD(momentum=μ)`; `v` starts at 0).
pub fn momentum_step(param: &mut [f32], grad: &[f32], velocity: &mut [f32], lr: f32, mu: f32) {
    for ((p, &g), v) in param.iter_mut().zip(grad).zip(velocity) {
        *v = mu * *v + g;
        *p -= lr * *v;
    }
}
