//! Adam (Kingma & Ba 2015): a per-parameter step size from running averages of the
//! gradient (`m`, direction) and of its square (`v`, scale).

/// With step count `t` (starting at 1):
///
/// `m ← β₁·m + (1 − β₁)·g`
/// `v ← β₂·v + (1 − β₂)·g²`
/// `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)`  (both start at 0, so early averages are scaled up)
/// `θ ← s·θ − α·m̂ / (√v̂ + ε)`  (`s`: the weight-decay shrink of [`super::sgd::sgd_step`]; with it, AdamW)
///
/// A square root and a division per parameter: compiled for AVX-512 and AVX2 too (16 or 8
/// lanes instead of SSE2's 4), chosen at run time.
#[allow(clippy::too_many_arguments)]
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
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
    let step = |p: &mut f32, g: f32, m: &mut f32, v: &mut f32, m_hat: fn(f32, f32) -> f32| {
        *m = beta1 * *m + (1.0 - beta1) * g;
        *v = beta2 * *v + (1.0 - beta2) * g * g;
        let v_hat = *v / bias2;
        *p = shrink * *p - lr * m_hat(*m, bias1) / (v_hat.sqrt() + eps);
    };
    // Divisions and the square root are what this loop waits for. Once β₁ᵗ is below half an
    // f32 ulp of 1 (t > 150 or so for β₁ = 0.9), `1 − β₁ᵗ` is exactly 1 and `m / 1 = m`: the
    // loop without that division gives the same bits, a quarter faster.
    let zipped = param.iter_mut().zip(grad).zip(m).zip(v);
    if bias1 == 1.0 {
        zipped.for_each(|(((p, &g), m), v)| step(p, g, m, v, |m, _| m));
    } else {
        zipped.for_each(|(((p, &g), m), v)| step(p, g, m, v, |m, bias1| m / bias1));
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

    #[test]
    fn every_step_gives_the_bits_of_the_formula_with_both_divisions() {
        // Early steps (1 − β₁ᵗ < 1), the step where it becomes exactly 1, and later ones.
        let (beta1, beta2, eps, lr, shrink) = (0.9f32, 0.999f32, 1e-8f32, 1e-3f32, 0.9999f32);
        let first_exact = (1..).find(|&t| 1.0 - beta1.powi(t) == 1.0).unwrap() as u64;
        for t in [1, 2, 10, first_exact - 1, first_exact, first_exact + 1, 5000] {
            let grad: Vec<f32> = (0..37).map(|i| ((i * 7919 % 101) as f32 - 50.0) * 1e-3).collect();
            let (mut p, mut m, mut v) = (vec![0.5f32; 37], vec![0.01f32; 37], vec![1e-4f32; 37]);
            let (mut p_ref, mut m_ref, mut v_ref) = (p.clone(), m.clone(), v.clone());
            adam_step(&mut p, &grad, &mut m, &mut v, t, lr, beta1, beta2, eps, shrink);
            let (bias1, bias2) = (1.0 - beta1.powi(t as i32), 1.0 - beta2.powi(t as i32));
            for i in 0..37 {
                m_ref[i] = beta1 * m_ref[i] + (1.0 - beta1) * grad[i];
                v_ref[i] = beta2 * v_ref[i] + (1.0 - beta2) * grad[i] * grad[i];
                p_ref[i] = shrink * p_ref[i] - lr * (m_ref[i] / bias1) / ((v_ref[i] / bias2).sqrt() + eps);
            }
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!((bits(&p), bits(&m), bits(&v)), (bits(&p_ref), bits(&m_ref), bits(&v_ref)), "step {t}");
        }
    }
}
