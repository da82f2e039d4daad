//! Mini-batch gradient descent.

/// `θ ← θ − α·g`
pub fn sgd_step(param: &mut [f32], grad: &[f32], lr: f32) {
    for (p, &g) in param.iter_mut().zip(grad) {
        *p -= lr * g;
    }
}
