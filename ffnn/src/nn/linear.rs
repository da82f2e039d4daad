//! The affine part of a layer, on the whole mini-batch (rows are samples):
//!
//! forward  `Z = A_prev·W + b`          (`A_prev`: n × in, `W`: in × out, `b` added to every row)
//! backward `dW = A_prevᵀ·dZ`, `db = Σᵢ dZᵢ` (column sums), `dA_prev = dZ·Wᵀ`
//!
//! The `1/n` of the mean loss is already inside `dZ` (see `loss::softmax_cross_entropy_backward`),
//! so the sums here are plain sums.

use crate::gemm::{Op, matmul};
use crate::sparse::{self, Csr, PackedRows, csr_matmul, csr_t_matmul};
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

/// The first layer's forward pass, `Z₁ = X·W₁ + b₁`, on the input batch itself.
///
/// About 80% of an MNIST image's pixels are exactly 0, and every `0 · W₁[p, :]` adds nothing.
/// When the batch is sparse enough to pay (at most [`sparse::MAX_DENSITY`] non-zero), `sparse`
/// holds `X` by its non-zero entries (listed from the dataset's bytes by
/// [`SparseInput::list_bytes`], or here from `x` for a layer of at least
/// [`sparse::WIDE_OUTPUTS`] units) and `Z₁ = b₁ + Σ_{p: x_ip ≠ 0} x_ip · W₁[p, :]` skips the
/// zero terms: the same sums, a fifth of the work. Otherwise this is [`linear_forward`].
pub fn input_linear_forward(x: &Matrix, sparse: &mut SparseInput, w: &Matrix, b: &[f32], z: &mut Matrix) {
    if sparse.fill(x, w.cols) {
        csr_matmul(&sparse.x, w, Some(b), z);
    } else {
        linear_forward(x, w, b, z);
    }
}

/// The first layer's backward pass: `dW₁ = Xᵀ·dZ₁` and `db₁ = Σ_rows dZ₁` (no `dX`: nothing
/// comes before the input). When the forward pass read `X` by its non-zero pixels, row `p` of
/// `dW₁` sums `dZ₁`'s rows over the samples whose pixel `p` is not 0: read from `x_t`, `Xᵀ`
/// listed from `sparse.x` by [`Csr::fill_transpose_of`], when [`SparseInput::needs_transpose`]
/// (the backward pass lists it while it computes the other layers' gradients, see
/// `model_backward`); else scattered from `sparse.x` itself ([`csr_t_matmul`]).
pub fn input_linear_backward(x: &Matrix, sparse: &SparseInput, x_t: &Csr, dz: &Matrix, dw: &mut Matrix, db: &mut [f32]) {
    if sparse.needs_transpose(dz.cols) {
        assert_eq!((x_t.rows, x_t.cols), (sparse.x.cols, sparse.x.rows), "input_linear_backward: x_t is not Xᵀ");
        csr_matmul(x_t, dz, None, dw);
    } else if sparse.in_use {
        csr_t_matmul(&sparse.x, dz, dw);
    } else {
        matmul(x, Op::T, dz, Op::N, dw, false);
    }
    bias_gradient(dz, db);
}

/// The input batch `X` by its non-zero entries, for the first layer's products.
#[derive(Clone, Debug, Default)]
pub struct SparseInput {
    /// Whether the last forward pass used them (its input had at most [`sparse::MAX_DENSITY`] non-zeros).
    pub in_use: bool,
    /// The input batch `X` by its non-zero entries.
    pub x: Csr,
    /// `Some(sparse)` takes that path whatever the batch's density (for results that must not
    /// depend on the other rows of a batch, see [`super::predict_in_blocks`]); `None` decides
    /// by density. (A dense batch into a narrow layer stays dense whatever it says: see
    /// [`sparse::WIDE_OUTPUTS`].)
    pub force: Option<bool>,
    /// What [`SparseInput::list_bytes`] did with the next forward pass's batch.
    pub listing: Listing,
}

/// What [`SparseInput::list_bytes`] did with the batch the next forward pass reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Listing {
    /// Nothing: the forward pass decides from its dense `X`.
    #[default]
    None,
    /// Listed into [`SparseInput::x`], straight from the dataset's bytes: the forward pass
    /// reads it instead of its `X`.
    Listed,
    /// Counted and found too dense: the forward pass takes the dense path without counting
    /// the same batch again.
    TooDense,
}

impl SparseInput {
    /// Lists a batch of `rows` rows of bytes — `row(i)` is row `i`, `cols` bytes, a byte `k`
    /// standing for the input `k · scale` — straight into `x` for the next forward pass into
    /// a layer of `outputs` units, if the sparse path applies to it; returns whether it did.
    /// If not, the caller gathers the dense batch as usual. This skips writing and re-reading
    /// the dense `f32` batch: a batch of images goes from the dataset's bytes to its list of
    /// non-zero pixels in one pass (the same entries [`Csr::fill_from_dense`] finds).
    pub fn list_bytes<'a>(
        &mut self,
        rows: usize,
        cols: usize,
        row: &(dyn Fn(usize) -> &'a [u8] + Sync),
        scale: f32,
        outputs: usize,
    ) -> bool {
        self.listing = Listing::None;
        if !self.may_be_sparse(rows * cols, outputs, true) {
            return false;
        }
        let listed = self.x.fill_from_bytes_up_to(rows, cols, row, scale, self.max_entries(rows * cols)) && self.sparse_enough();
        self.listing = if listed { Listing::Listed } else { Listing::TooDense };
        listed
    }

    /// [`SparseInput::list_bytes`] for the rows `indices` of a training set packed once by its
    /// non-zero bytes ([`PackedRows`]): the same entries and the same decisions, from a third of
    /// the memory.
    pub fn list_packed(&mut self, packed: &PackedRows, indices: &[usize], scale: f32, outputs: usize) -> bool {
        self.listing = Listing::None;
        let values = indices.len() * packed.cols();
        if !self.may_be_sparse(values, outputs, true) {
            return false;
        }
        let listed = self.x.fill_from_packed(packed, indices, scale, self.max_entries(values)) && self.sparse_enough();
        self.listing = if listed { Listing::Listed } else { Listing::TooDense };
        listed
    }

    /// The most entries a batch of `values` inputs may have for the sparse path: a few more
    /// than [`sparse::MAX_DENSITY`] of them (the density test decides at the edge), or all
    /// with [`SparseInput::force`]. A denser batch is counted, not listed.
    fn max_entries(&self, values: usize) -> usize {
        if self.force == Some(true) { values } else { (sparse::MAX_DENSITY as f64 * values as f64) as usize + 1 }
    }

    /// Whether a batch of `values` inputs into a layer of `outputs` units, listed `from_bytes`
    /// or given dense, may take the sparse path (then its density decides, unless
    /// [`SparseInput::force`] does). A dense batch into a narrow layer (fewer than
    /// [`sparse::WIDE_OUTPUTS`] units) stays dense, whatever `force` says.
    fn may_be_sparse(&self, values: usize, outputs: usize, from_bytes: bool) -> bool {
        let pays = from_bytes || outputs >= sparse::WIDE_OUTPUTS;
        // (Entries are indexed by 32 bits: a batch beyond 4 G values stays dense.)
        outputs > 0 && pays && values < u32::MAX as usize && self.force != Some(false)
    }

    /// Whether the backward pass of a first layer of `outputs` units reads `Xᵀ` (the batch
    /// took the sparse path and the layer has at least [`sparse::WIDE_OUTPUTS`]
    /// units), which it then lists from `x`.
    pub fn needs_transpose(&self, outputs: usize) -> bool {
        self.in_use && outputs >= sparse::WIDE_OUTPUTS
    }

    /// Takes the sparse path for `x` (or for the batch [`SparseInput::list_bytes`] listed) into a
    /// layer of `outputs` units if that pays; returns whether it did.
    fn fill(&mut self, x: &Matrix, outputs: usize) -> bool {
        self.in_use = match std::mem::take(&mut self.listing) {
            Listing::Listed => true,
            Listing::TooDense => false,
            Listing::None => self.list_dense(x, outputs),
        };
        self.in_use
    }

    /// Lists the dense batch `x` into [`SparseInput::x`] for a layer of `outputs` units if the
    /// sparse path applies to it (a wide layer, a batch sparse enough or [`SparseInput::force`]);
    /// returns whether it did. What the forward pass does with a batch `list_bytes` did not list.
    pub fn list_dense(&mut self, x: &Matrix, outputs: usize) -> bool {
        self.may_be_sparse(x.data.len(), outputs, false)
            && self.x.fill_from_dense_up_to(x, self.max_entries(x.data.len()))
            && self.sparse_enough()
    }

    /// Whether the batch just listed into `x` takes the sparse path: as [`SparseInput::force`]
    /// says, else if at most [`sparse::MAX_DENSITY`] of it is non-zero.
    fn sparse_enough(&self) -> bool {
        self.force.unwrap_or(self.x.density() <= sparse::MAX_DENSITY)
    }
}
