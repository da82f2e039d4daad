//! The affine part of a layer, on the whole mini-batch (rows are samples):
//!
//! forward  `Z = A_prev·W + b`          (`A_prev`: n × in, `W`: in × out, `b` added to every row)
//! backward `dW = A_prevᵀ·dZ`, `db = Σᵢ dZᵢ` (column sums), `dA_prev = dZ·Wᵀ`
//!
//! The `1/n` of the mean loss is already inside `dZ` (see `loss::softmax_cross_entropy_backward`),
//! so the sums here are plain sums.

use crate::gemm::{Op, matmul};
use crate::sparse::{Csr, csr_matmul};
use crate::tensor::Matrix;

/// `Z = A_prev·W + b`. `z` is reshaped to `n × out` (reusing its allocation).
pub fn linear_forward(a_prev: &Matrix, w: &Matrix, b: &[f32], z: &mut Matrix) {
    z.reshape(a_prev.rows, w.cols);
    // Start from the broadcast bias, then accumulate the product onto it: one pass, no temporary.
    for i in 0..z.rows {
        z.row_mut(i).copy_from_slice(b);
    }
    matmul(a_prev, Op::N, w, Op::N, z, true);
}

/// Gradients of one layer's affine map.
///
/// `dW = A_prevᵀ·dZ` and `db = Σ_rows dZ` are written to `dw` and `db`;
/// when `da_prev` is given (every layer but the first), `dA_prev = dZ·Wᵀ` is written there.
pub fn linear_backward(a_prev: &Matrix, w: &Matrix, dz: &Matrix, dw: &mut Matrix, db: &mut [f32], da_prev: Option<&mut Matrix>) {
    matmul(a_prev, Op::T, dz, Op::N, dw, false);
    bias_gradient(dz, db);
    if let Some(da) = da_prev {
        da.reshape(dz.rows, w.rows);
        matmul(dz, Op::N, w, Op::T, da, false);
    }
}

/// `db = Σ_rows dZ`: the bias is added to every row, so its gradient sums over them.
fn bias_gradient(dz: &Matrix, db: &mut [f32]) {
    db.fill(0.0);
    for i in 0..dz.rows {
        for (s, &g) in db.iter_mut().zip(dz.row(i)) {
            *s += g;
        }
    }
}

/// [`linear_forward`] of the first layer when the input batch is mostly zeros, given by its
/// non-zero pixels (see [`crate::sparse`]): `Z = X·W + b`, skipping every `0 · W[p, :]`.
pub fn sparse_linear_forward(x: &Csr, w: &Matrix, b: &[f32], z: &mut Matrix) {
    csr_matmul(x, w, Some(b), z);
}

/// [`linear_backward`] of the first layer on a sparse input, given as `Xᵀ`:
/// `dW = Xᵀ·dZ` (row `p` of `dW` sums `dZ`'s rows over the samples whose pixel `p` is not 0)
/// and `db = Σ_rows dZ`. The first layer needs no `dX`.
pub fn sparse_linear_backward(x_t: &Csr, dz: &Matrix, dw: &mut Matrix, db: &mut [f32]) {
    csr_matmul(x_t, dz, None, dw);
    bias_gradient(dz, db);
}
