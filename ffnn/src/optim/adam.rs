//! Adam (Kingma & Ba 2015): a per-parameter step size from running averages of the
//! gradient (`m`, direction) and of its square (`v`, scale).

/// With step count `t` (starting at 1):
///
/// `m ← β₁·m + (1 − β₁)·g`
/// `v ← β₂·v + (1 − β₂)·g²`
/// `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`  (both start at 0, so early averages are scaled up)
/// `θ ← s·θ − α·m̂ / (√v̂ + ε)`  (`s`: the weight-decay shrink of [`super::sgd::sgd_step`]; with it, AdamW)
///
/// A square root and a division per parameter: compiled for AVX2 too (8 lanes instead of
/// SSE2's 4), chosen at run time.
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets("x86_64+avx2+fma", "aarch64+neon"))]
pub fn adam_step(
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    t: u64,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    shrink: f32,
) {
    let bias1 = 1.0 - beta1.powi(t as i32);
    let bias2 = 1.0 - beta2.powi(t as i32);
    for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(m).zip(v) {
        *m = beta1 * *m + (1.0 - beta1) * g;
        *v = beta2 * *v + (1.0 - beta2) * g * g;
        let m_hat = *m / bias1;
        let v_hat = *v / bias2;
        *p = shrink * *p - lr * m_hat / (v_hat.sqrt() + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_parameter_by_the_learning_rate() {
        // At t = 1, m̂ = g and v̂ = g², so the step is α·g/(|g| + ε) ≈ α·sign(g).
        let mut p = [1.0f32, 1.0, 1.0];
        let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
        adam_step(&mut p, &[0.5, -2.0, 1e-3], &mut m, &mut v, 1, 0.01, 0.9, 0.999, 1e-8, 1.0);
        assert!((p[0] - 0.99).abs() < 1e-6 && (p[1] - 1.01).abs() < 1e-6 && (p[2] - 0.99).abs() < 1e-5);
    }
}
