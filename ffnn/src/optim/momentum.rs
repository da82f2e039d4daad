//! Gradient descent with momentum: the step keeps a running, decaying sum of past gradients,
//! so it speeds up along directions where gradients agree and damps the zig-zag where they don't.

/// `v ← μ·v + g`, `θ ← s·θ − α·v` (PyTorch's `SGD(momentum=μ)`; `v` starts at 0), with the
/// weight-decay shrink `s` of [`super::sgd::sgd_step`].
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn momentum_step(param: &mut [f32], grad: &[f32], velocity: &mut [f32], lr: f32, mu: f32, shrink: f32) {
    for ((p, &g), v) in param.iter_mut().zip(grad).zip(velocity) {
        *v = mu * *v + g;
        *p = shrink * *p - lr * *v;
    }
}
