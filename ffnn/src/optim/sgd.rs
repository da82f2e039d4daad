//! Mini-batch gradient descent.

/// `θ ← s·θ − α·g`, where `s = 1 − α·λ` shrinks the weights (decoupled weight decay `λ`;
/// `s = 1` without it, and for biases).
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn sgd_step(param: &mut [f32], grad: &[f32], lr: f32, shrink: f32) {
    for (p, &g) in param.iter_mut().zip(grad) {
        *p = shrink * *p - lr * g;
    }
}
