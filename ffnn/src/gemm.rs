//! Matrix multiplication, the operation that dominates training time.
//!
//! Every layer needs three products per step (rows are samples, `A₀ = X`):
//! forward `Z = A·W`, backward `dW = Aᵀ·dZ` and `dA = dZ·Wᵀ`. All three go through
//! [`matmul`], which hands them to the `gemm` crate: a pure-Rust, cache-blocked kernel that
//! picks SIMD code for the CPU at run time (AVX-512 or AVX2/FMA, NEON, scalar elsewhere); ffnn splits the
//! output between threads itself (see [`matmul`] and [`crate::parallel`]). Transposes cost nothing: they are strides, not copies.
//! [`matmul_reference`] is the textbook triple loop, kept beside it so a test can check
//! the fast kernel against it.

use crate::tensor::Matrix;
/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// As stored.
    N,
    /// Transposed.
    T,
}

/// Shape of `op(M)`.
fn op_shape(m: &Matrix, op: Op) -> (usize, usize) {
    match op {
        Op::N => (m.rows, m.cols),
        Op::T => (m.cols, m.rows),
    }
}

/// Strides (row stride, column stride) of `op(M)` over `M`'s row-major storage.
fn op_strides(m: &Matrix, op: Op) -> (isize, isize) {
    match op {
        Op::N => (m.cols as isize, 1),
        Op::T => (1, m.cols as isize),
    }
}

/// `C = op(A)·op(B)`, or `C += op(A)·op(B)` when `accumulate`.
/// `C` must already have the shape `rows(op(A)) × cols(op(B))`.
pub fn matmul(a: &Matrix, op_a: Op, b: &Matrix, op_b: Op, c: &mut Matrix, accumulate: bool) {
    let (m, k) = op_shape(a, op_a);
    let (k2, n) = op_shape(b, op_b);
    assert_eq!(k, k2, "matmul: inner dimensions differ ({m}×{k} · {k2}×{n})");
    assert_eq!((c.rows, c.cols), (m, n), "matmul: output is {}×{}, expected {m}×{n}", c.rows, c.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.data.fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = op_strides(a, op_a);
    let (b_rs, b_cs) = op_strides(b, op_b);
    if m.min(n) <= 1 || k <= 2 {
        return matmul_in_order(a, (a_rs, a_cs), b, (b_rs, b_cs), c, k, accumulate);
    }
    let a_ptr = SendPtr(a.data.as_ptr() as *mut f32);
    let b_ptr = SendPtr(b.data.as_ptr() as *mut f32);
    let c_ptr = SendPtr(c.data.as_mut_ptr());
    // One block of C = rows `r0..r1`, columns `c0..c1`, computed on the calling thread, the
    // inner dimension in pieces of at most `K_PIECE`, each added to the block in turn.
    // SAFETY: the pointers and strides describe exactly the storage of `a`, `b` and `c`, whose
    // shapes were checked above (a piece starts `p0 < k` along the inner dimension and is at most
    // `k − p0` long); blocks of C given to different threads do not overlap, and `c` is borrowed
    // mutably, so it aliases neither `a` nor `b`.
    let block = |(r0, r1, c0, c1): (usize, usize, usize, usize)| unsafe {
        let (a, b, c) = (&a_ptr, &b_ptr, &c_ptr);
        for p0 in (0..k).step_by(K_PIECE) {
            gemm::gemm(
                r1 - r0,
                c1 - c0,
                K_PIECE.min(k - p0),
                c.0.add(r0 * n + c0),
                1,
                n as isize,
                accumulate || p0 > 0,
                a.0.offset(r0 as isize * a_rs + p0 as isize * a_cs),
                a_cs,
                a_rs,
                b.0.offset(c0 as isize * b_cs + p0 as isize * b_rs),
                b_cs,
                b_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    };
    if crate::parallel::threads() == 1 || m * n * k < PARALLEL_MIN_WORK {
        block((0, m, 0, n));
        return;
    }
    // Split C into one block per thread along its longer side, in multiples of 16 so every
    // block keeps whole micro-kernel tiles. Each block is an independent GEMM with the full
    // inner dimension: no reduction between threads, so the result is the same bits whatever
    // the timing.
    let long = m.max(n);
    let per_block = block_length(long, crate::parallel::threads());
    crate::parallel::run(long.div_ceil(per_block), &|i| {
        let (from, to) = (i * per_block, ((i + 1) * per_block).min(long));
        if m >= n { block((from, to, 0, n)) } else { block((0, m, from, to)) }
    });
}

/// [`matmul`] for the shapes the `gemm` crate computes another way — a single row or column of
/// C (a matrix–vector product) or an inner dimension of 1 or 2 — whose sums there follow its
/// SIMD width and the number of rows it is given, so their bits would depend on the CPU and
/// the thread count (a batch of one, a layer of one unit: other model bytes on AVX2 and on
/// AVX-512). Here every element is `C[i][j] (+)= Σₖ A[i][k]·B[k][j]` added into `C` term by
/// term, `k` in order, a multiply and an add each: the same bits everywhere. Where a row of
/// `B` (or, for a single column of C, a column of `A`) is contiguous, each term is one
/// [`axpy`] over it, SIMD across the elements; otherwise eight elements advance together. On
/// one thread: these products are small.
fn matmul_in_order(
    a: &Matrix,
    (a_rs, a_cs): (isize, isize),
    b: &Matrix,
    (b_rs, b_cs): (isize, isize),
    c: &mut Matrix,
    k: usize,
    accumulate: bool,
) {
    const LANES: usize = 8;
    let (m, n) = (c.rows, c.cols);
    let at = |data: &[f32], rs: isize, cs: isize, r: usize, col: usize| data[(r as isize * rs + col as isize * cs) as usize];
    if !accumulate {
        c.data.fill(0.0);
    }
    if b_cs == 1 {
        // Row `p` of B is `b.data[p·b_rs..][..n]`: C[i, :] += A[i, p]·B[p, :], for each p in order.
        for (i, row) in c.data.chunks_mut(n).enumerate() {
            for p in 0..k {
                let from = (p as isize * b_rs) as usize;
                axpy(at(&a.data, a_rs, a_cs, i, p), &b.data[from..from + n], row);
            }
        }
    } else if n == 1 && a_rs == 1 {
        // One column of C, and column `p` of A is `a.data[p·a_cs..][..m]`.
        for p in 0..k {
            let from = (p as isize * a_cs) as usize;
            axpy(at(&b.data, b_rs, b_cs, p, 0), &a.data[from..from + m], &mut c.data);
        }
    } else {
        for (i, row) in c.data.chunks_mut(n).enumerate() {
            for (j0, sums) in (0..n).step_by(LANES).zip(row.chunks_mut(LANES)) {
                for p in 0..k {
                    let ap = at(&a.data, a_rs, a_cs, i, p);
                    for (t, s) in sums.iter_mut().enumerate() {
                        *s += ap * at(&b.data, b_rs, b_cs, p, j0 + t);
                    }
                }
            }
        }
    }
}

/// `y += α·x`, element by element (a multiply, then an add: no fused multiply-add, so the same
/// bits at every SIMD width), compiled for AVX-512 and AVX2 too.
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// The rows (or columns) of C per block when `len` of them are shared by `threads`: a multiple
/// of 16, at most one block per thread — and never a last block of a single row (or column)
/// beside longer ones. The `gemm` crate computes a single row as a matrix–vector product, which
/// sums in another order than its tiles: with 3 threads, 65 rows cut as 32 + 32 + 1 gave other
/// bits in row 65 than on 1 or 2 threads (found by the property test of pieces). Such a split
/// is made with fewer blocks instead (65 on 3 threads: 48 + 17).
fn block_length(len: usize, threads: usize) -> usize {
    (1..=threads.max(1))
        .rev()
        .map(|blocks| len.div_ceil(blocks).next_multiple_of(16).max(1))
        .find(|&per_block| len % per_block != 1 || len <= per_block)
        .unwrap_or(len.max(1))
}

/// The longest inner dimension handed to the `gemm` crate in one call; a longer one is summed in
/// pieces, each added to `C`: `C = (A·B)[0..256] + (A·B)[256..512] + …`. Within a call, the crate
/// itself cuts the inner dimension into blocks that fit the first-level cache, whose size
/// depends on the kernel it picks for the CPU (AVX2 or AVX-512 on x86-64): the same product
/// with k = 784 (a dense first layer) was summed in different pieces, so to different bits, on
/// the two. The crate never cuts 512 or fewer (its blocks are at least that long), so with
/// pieces of 256 every CPU sums the same way and a run gives the same bits on any of them.
/// (The shapes the crate computes as matrix–vector products, whose sums follow its SIMD width,
/// do not go to it: [`matmul`] computes those itself.)
pub const K_PIECE: usize = 256;

/// Below this many multiply-adds a product runs on one thread: splitting it costs more than it saves.
const PARALLEL_MIN_WORK: usize = 1 << 18;

/// A raw pointer that may cross threads; see the SAFETY note in [`matmul`].
struct SendPtr(*mut f32);
// SAFETY: the pointer is only dereferenced inside `matmul`, whose threads write disjoint
// blocks of `c` and only read `a` and `b`, all borrowed for the whole call.
unsafe impl Send for SendPtr {}
// SAFETY: as for `Send`: shared access never writes the same element from two threads.
unsafe impl Sync for SendPtr {}

/// The definition, `C[i][j] (+)= Σₖ op(A)[i][k] · op(B)[k][j]`, one element at a time.
/// Slow; exists to check [`matmul`].
pub fn matmul_reference(a: &Matrix, op_a: Op, b: &Matrix, op_b: Op, c: &mut Matrix, accumulate: bool) {
    let (m, k) = op_shape(a, op_a);
    let (_, n) = op_shape(b, op_b);
    let (a_rs, a_cs) = op_strides(a, op_a);
    let (b_rs, b_cs) = op_strides(b, op_b);
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f32;
            for p in 0..k {
                sum += a.data[(i as isize * a_rs + p as isize * a_cs) as usize]
                    * b.data[(p as isize * b_rs + j as isize * b_cs) as usize];
            }
            let out = &mut c.data[i * n + j];
            *out = if accumulate { *out + sum } else { sum };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(rows: usize, cols: usize, rng: &mut impl Rng) -> Matrix {
        Matrix::from_vec(rows, cols, (0..rows * cols).map(|_| rng.random_range(-1.0..1.0)).collect())
    }

    /// A product with a long inner dimension is, bit for bit, its pieces of [`K_PIECE`] added to
    /// `C` one after the other: the sums every CPU's kernel computes the same way.
    #[test]
    fn a_long_product_is_the_sum_of_its_pieces_bit_for_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for &(m, k, n) in &[(128, 784, 512), (37, 600, 19), (64, 257, 48), (128, 800, 10)] {
            let (a, b) = (random(m, k, &mut rng), random(k, n, &mut rng));
            let start = random(m, n, &mut rng);
            let mut whole = start.clone();
            matmul(&a, Op::N, &b, Op::N, &mut whole, true);
            let mut pieces = start;
            for p0 in (0..k).step_by(K_PIECE) {
                let p1 = (p0 + K_PIECE).min(k);
                let a_piece = Matrix::from_vec(m, p1 - p0, (0..m).flat_map(|i| a.row(i)[p0..p1].to_vec()).collect());
                let b_piece = Matrix::from_vec(p1 - p0, n, b.data[p0 * n..p1 * n].to_vec());
                matmul(&a_piece, Op::N, &b_piece, Op::N, &mut pieces, true);
            }
            assert!(whole.data.iter().zip(&pieces.data).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{k}×{n}");
        }
    }

    /// The shapes `matmul` computes itself (a single row or column of C, an inner dimension of 1
    /// or 2) give the triple loop's bits exactly, in every transpose: each element is the same
    /// sum in the same order, whatever the CPU. (With `accumulate` the loop adds the sum to C
    /// at the end, `matmul` term by term, so there they are only close.)
    #[test]
    fn matrix_vector_shapes_give_the_bits_of_the_triple_loop() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        for &(m, k, n) in &[(1, 300, 77), (77, 300, 1), (50, 1, 40), (50, 2, 40), (1, 1, 1), (1, 784, 256), (256, 1, 128)] {
            for &(op_a, op_b) in &[(Op::N, Op::N), (Op::T, Op::N), (Op::N, Op::T), (Op::T, Op::T)] {
                let a = if op_a == Op::N { random(m, k, &mut rng) } else { random(k, m, &mut rng) };
                let b = if op_b == Op::N { random(k, n, &mut rng) } else { random(n, k, &mut rng) };
                let (mut fast, mut slow) = (random(m, n, &mut rng), Matrix::zeros(m, n));
                matmul(&a, op_a, &b, op_b, &mut fast, false);
                matmul_reference(&a, op_a, &b, op_b, &mut slow, false);
                let bits = |x: &Matrix| x.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&slow), "{m}×{k}×{n} {op_a:?}{op_b:?}");
            }
        }
    }

    /// Blocks tile the length, one per thread at most, in multiples of 16, and none is a lone
    /// row beside longer ones.
    #[test]
    fn blocks_never_leave_a_single_row() {
        for len in 1..=600 {
            for threads in 1..=8 {
                let per_block = block_length(len, threads);
                let blocks = len.div_ceil(per_block);
                assert!(blocks <= threads && (per_block.is_multiple_of(16) || blocks == 1), "{len} on {threads}: {per_block}");
                assert!(blocks == 1 || len - (blocks - 1) * per_block > 1, "{len} on {threads}: {per_block}");
            }
        }
        // 65 rows on 3 threads: 48 + 17; 17 on 2: one block (16 + 1 would leave a lone row).
        assert_eq!((block_length(65, 3), block_length(17, 2), block_length(128, 2)), (48, 32, 64));
    }

    #[test]
    fn fast_kernel_matches_reference_for_every_transpose() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // Shapes of the training step (odd sizes exercise the kernel's edge handling).
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (128, 784, 256), (37, 129, 10), (100, 10, 784)] {
            for &(op_a, op_b) in &[(Op::N, Op::N), (Op::T, Op::N), (Op::N, Op::T), (Op::T, Op::T)] {
                let a = if op_a == Op::N { random(m, k, &mut rng) } else { random(k, m, &mut rng) };
                let b = if op_b == Op::N { random(k, n, &mut rng) } else { random(n, k, &mut rng) };
                for accumulate in [false, true] {
                    let start = random(m, n, &mut rng);
                    let (mut fast, mut slow) = (start.clone(), start);
                    matmul(&a, op_a, &b, op_b, &mut fast, accumulate);
                    matmul_reference(&a, op_a, &b, op_b, &mut slow, accumulate);
                    let worst = fast.data.iter().zip(&slow.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
                    // Sums of k products of values in [-1, 1]: rounding grows like √k·ε.
                    assert!(worst <= 1e-5 * (k as f32).sqrt() * 4.0, "{m}×{k}×{n} {op_a:?}{op_b:?}: {worst}");
                }
            }
        }
    }
}
