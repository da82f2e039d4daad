//! Softmax output and the cross-entropy cost (seed eqs. 2 and 4), on logits `Z` (n × M).
//!
//! `p_im = e^{z_im} / Σ_l e^{z_il}`
//! `L_i = ln Σ_l e^{z_il} − z_{i,y_i}`,   `J = (1/n) Σ_i L_i`
//! `dJ/dz_im = (p_im − ỹ_im) / n`         (derived in docs/derivation.md)
//!
//! Every row is first shifted by its maximum `c_i = max_l z_il`. Adding a constant to a row
//! changes neither `p` nor `L` (`ln Σ e^{z+c} − (z_y + c) = ln Σ e^z − z_y`), and after the shift
//! every exponent is ≤ 0, so nothing overflows even for logits of ±10⁴.

use crate::tensor::Matrix;

/// The shifted log-sum-exp of a row: `ln Σ_l e^{z_l} = c + ln Σ_l e^{z_l − c}` with `c = max z`.
fn log_sum_exp(row: &[f32]) -> f32 {
    let c = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f32 = row.iter().map(|&z| (z - c).exp()).sum();
    c + s.ln()
}

/// One row of softmax, `p_l = e^{z_l − ln Σ e^z}`, written into `p`; returns the row's
/// log-sum-exp (which the cost needs too).
fn softmax_row(z: &[f32], p: &mut [f32]) -> f32 {
    let lse = log_sum_exp(z);
    for (p, &z) in p.iter_mut().zip(z) {
        *p = (z - lse).exp();
    }
    lse
}

/// `P = softmax(Z)` row by row; `p` is reshaped to the shape of `z`.
pub fn softmax(z: &Matrix, p: &mut Matrix) {
    p.reshape(z.rows, z.cols);
    for i in 0..z.rows {
        softmax_row(z.row(i), p.row_mut(i));
    }
}

/// The cost `J = (1/n) Σ_i [ln Σ_l e^{z_il} − z_{i,y_i}]`: mean cross-entropy of the labels `y`
/// under softmax of the logits `z`, computed stably (max-subtracted log-sum-exp).
///
/// ```
/// use ffnn::nn::compute_loss;
/// use ffnn::tensor::Matrix;
/// // Two samples, three classes: equal logits cost ln 3 whatever the label.
/// let z = Matrix::from_vec(2, 3, vec![0.0, 0.0, 0.0, 5.0, 5.0, 5.0]);
/// assert!((compute_loss(&z, &[0, 2]) - 3f32.ln()).abs() < 1e-6);
/// ```
pub fn compute_loss(z: &Matrix, y: &[u8]) -> f32 {
    assert_eq!(z.rows, y.len(), "compute_loss: {} rows of logits, {} labels", z.rows, y.len());
    let total: f64 = (0..z.rows).map(|i| (log_sum_exp(z.row(i)) - z.row(i)[y[i] as usize]) as f64).sum();
    (total / z.rows.max(1) as f64) as f32
}

/// `P = softmax(Z)` row by row (`p` reshaped to the shape of `z`) and the cost `J` of the
/// labels `y`, as evaluation needs them: each row's log-sum-exp is computed once for both, and
/// both come out with the bits [`softmax`] and [`compute_loss`] give them apart.
pub fn softmax_and_loss(z: &Matrix, y: &[u8], p: &mut Matrix) -> f32 {
    assert_eq!(z.rows, y.len(), "softmax_and_loss: {} rows of logits, {} labels", z.rows, y.len());
    p.reshape(z.rows, z.cols);
    let total: f64 = (0..z.rows).map(|i| (softmax_row(z.row(i), p.row_mut(i)) - z.row(i)[y[i] as usize]) as f64).sum();
    (total / z.rows.max(1) as f64) as f32
}

/// The loss and its gradient in one pass, as training needs them:
/// returns the cost `J` it differentiated and writes
/// `dZ = (softmax(Z) − Ỹ) / n` into `dz` (reshaped to the shape of `z`).
///
/// With label smoothing `ε` the target is `Ỹ = (1 − ε)·onehot(y) + ε/M` instead of the one-hot
/// row, so `L_i = ln Σ_l e^{z_il} − (1 − ε)·z_{i,y_i} − (ε/M)·Σ_m z_im`: the network is
/// no longer pushed towards infinitely confident logits. `ε = 0` is plain cross-entropy.
///
/// Rows are independent, so threads take whole rows of `dZ` (when there are enough: about a
/// microsecond of work each) and write each row's `L_i` into a block of terms on the stack;
/// this thread then adds the terms in row order, so `J` has the same bits on any number of
/// threads.
pub fn softmax_cross_entropy_backward(z: &Matrix, y: &[u8], smoothing: f32, dz: &mut Matrix) -> f32 {
    assert_eq!(z.rows, y.len(), "softmax_cross_entropy_backward: {} rows of logits, {} labels", z.rows, y.len());
    dz.reshape(z.rows, z.cols);
    let (rows, cols) = (z.rows, z.cols.max(1));
    let inv_n = 1.0 / rows as f32;
    let off_target = smoothing / z.cols as f32;
    // Row `i`: its gradient into `g`, its loss `L_i` returned.
    let row_loss = |i: usize, g: &mut [f32]| {
        let (row, label) = (z.row(i), y[i] as usize);
        let lse = log_sum_exp(row);
        let mean_z = if smoothing > 0.0 { row.iter().sum::<f32>() } else { 0.0 };
        for (g, &zv) in g.iter_mut().zip(row) {
            *g = ((zv - lse).exp() - off_target) * inv_n;
        }
        g[label] -= (1.0 - smoothing) * inv_n;
        lse - (1.0 - smoothing) * row[label] - off_target * mean_z
    };
    let threads = crate::parallel::threads();
    let mut terms = [0.0f32; LOSS_BLOCK];
    let mut total = 0.0f64;
    for first in (0..rows).step_by(LOSS_BLOCK) {
        let count = LOSS_BLOCK.min(rows - first);
        let block = &mut dz.data[first * z.cols..(first + count) * z.cols];
        let tasks = threads.min(count * cols / LOSS_MIN_PER_THREAD).max(1);
        let per_task = count.div_ceil(tasks);
        let pieces = block.chunks_mut((per_task * z.cols).max(1)).zip(terms[..count].chunks_mut(per_task));
        crate::parallel::for_each_part(pieces, &|part, (g, terms)| {
            let first_row = first + part * per_task;
            for (k, term) in terms.iter_mut().enumerate() {
                *term = row_loss(first_row + k, &mut g[k * z.cols..(k + 1) * z.cols]);
            }
        });
        for &term in &terms[..count] {
            total += term as f64;
        }
    }
    (total / rows.max(1) as f64) as f32
}

/// The loss's gradient is computed for up to this many rows per hand-off to the threads (their
/// terms wait on the stack to be summed in order; a larger batch takes several blocks).
const LOSS_BLOCK: usize = 512;
/// Logits per thread below which the loss's rows stay on fewer threads: each costs about two
/// exponentials (some 12 ns), and handing work over about a microsecond.
const LOSS_MIN_PER_THREAD: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Matrix {
        Matrix::from_vec(3, 4, vec![0.5, -1.0, 2.0, 0.0, 3.0, 3.0, -2.0, 1.0, -0.7, 0.2, 0.1, 1.4])
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut p = Matrix::default();
        softmax(&logits(), &mut p);
        for i in 0..p.rows {
            let s: f32 = p.row(i).iter().sum();
            assert!((s - 1.0).abs() < 1e-6);
            assert!(p.row(i).iter().all(|&v| v > 0.0));
        }
    }

    #[test]
    fn stable_loss_equals_naive_negative_log_softmax() {
        let z = logits();
        let y = [2u8, 0, 3];
        // The textbook formula without the max shift, in f64.
        let naive: f64 = (0..3)
            .map(|i| {
                let row: Vec<f64> = z.row(i).iter().map(|&v| v as f64).collect();
                let sum: f64 = row.iter().map(|v| v.exp()).sum();
                -(row[y[i] as usize].exp() / sum).ln()
            })
            .sum::<f64>()
            / 3.0;
        assert!((compute_loss(&z, &y) as f64 - naive).abs() < 1e-6);
    }

    #[test]
    fn loss_is_finite_for_huge_logits() {
        let z = Matrix::from_vec(2, 3, vec![1e4, -1e4, 0.0, -1e4, -1e4, 1e4]);
        let loss = compute_loss(&z, &[1, 2]);
        assert!(loss.is_finite());
        // Row 1: label logit is 2e4 below the max → loss 2e4; row 2: label is the max → 0.
        assert!((loss - 1e4).abs() < 1.0, "{loss}");
        let mut p = Matrix::default();
        softmax(&z, &mut p);
        assert!(p.data.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn adding_a_constant_to_a_row_leaves_the_loss_unchanged() {
        let z = logits();
        let y = [1u8, 1, 0];
        let mut shifted = z.clone();
        shifted.row_mut(1).iter_mut().for_each(|v| *v += 1000.0);
        shifted.row_mut(2).iter_mut().for_each(|v| *v -= 55.5);
        assert!((compute_loss(&z, &y) - compute_loss(&shifted, &y)).abs() < 1e-4);
    }

    #[test]
    fn softmax_and_loss_together_give_the_bits_of_each_alone() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (rows, cols) in [(0, 3), (1, 1), (3, 4), (257, 10), (40, 47)] {
            let z = Matrix::from_vec(rows, cols, (0..rows * cols).map(|_| rng.random_range(-30.0..30.0)).collect());
            let y: Vec<u8> = (0..rows).map(|_| rng.random_range(0..cols) as u8).collect();
            let (mut together, mut alone) = (Matrix::default(), Matrix::default());
            let loss = softmax_and_loss(&z, &y, &mut together);
            softmax(&z, &mut alone);
            assert_eq!(loss.to_bits(), compute_loss(&z, &y).to_bits(), "{rows}×{cols}");
            assert_eq!(together, alone, "{rows}×{cols}");
        }
    }

    #[test]
    fn gradient_is_softmax_minus_one_hot_over_n() {
        let z = logits();
        let y = [2u8, 0, 3];
        let mut dz = Matrix::default();
        let loss = softmax_cross_entropy_backward(&z, &y, 0.0, &mut dz);
        assert!((loss - compute_loss(&z, &y)).abs() < 1e-6);
        let mut p = Matrix::default();
        softmax(&z, &mut p);
        for (i, &label) in y.iter().enumerate() {
            for m in 0..4 {
                let onehot = if m == label as usize { 1.0 } else { 0.0 };
                assert!((dz.row(i)[m] - (p.row(i)[m] - onehot) / 3.0).abs() < 1e-6);
            }
        }
    }
}

#[cfg(test)]
mod smoothing_tests {
    use super::*;

    #[test]
    fn label_smoothing_matches_its_definition() {
        let z = Matrix::from_vec(2, 3, vec![1.0, 2.0, 0.5, -1.0, 0.0, 3.0]);
        let y = [1u8, 0];
        let eps = 0.1;
        let mut dz = Matrix::default();
        let loss = softmax_cross_entropy_backward(&z, &y, eps, &mut dz);
        let mut p = Matrix::default();
        softmax(&z, &mut p);
        let mut expected = 0.0;
        for (i, &label) in y.iter().enumerate() {
            for m in 0..3 {
                let target = if m == label as usize { 1.0 - eps + eps / 3.0 } else { eps / 3.0 };
                expected -= target * p.row(i)[m].ln() / 2.0;
                assert!((dz.row(i)[m] - (p.row(i)[m] - target) / 2.0).abs() < 1e-6);
            }
        }
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }
}
