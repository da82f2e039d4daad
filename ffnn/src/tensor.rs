//! `Matrix`: the one data structure of the network. Row-major `f32`, and by convention
//! **rows are samples**: a mini-batch of `n` images of `p` pixels is an `n × p` matrix, so a
//! layer is `Z = X·W + b` with `W` of shape `in × out` (the transposed form the seed recommends).

/// A dense row-major `rows × cols` matrix of `f32`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Matrix {
    /// Rows (samples, in a batch).
    pub rows: usize,
    /// Columns (features or units).
    pub cols: usize,
    /// `data[i * cols + j]` is element `(i, j)`.
    pub data: Vec<f32>,
}

impl Matrix {
    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// Wraps `data` (row-major, `rows * cols` long) as a matrix.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * cols, "Matrix::from_vec: {rows}×{cols} needs {} values", rows * cols);
        Matrix { rows, cols, data }
    }

    /// Changes the shape to `rows × cols`, keeping the allocation when it is large enough.
    /// Training buffers are sized once for the largest batch; the last, smaller batch of an
    /// epoch then reuses them without allocating. Contents are unspecified afterwards.
    pub fn reshape(&mut self, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.data.resize(rows * cols, 0.0);
    }

    /// Row `i`: the `i`-th sample.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i`, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// `Aᵀ`, a new `cols × rows` matrix.
    pub fn transpose(&self) -> Matrix {
        let mut t = Matrix::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                t.data[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        t
    }

    /// The index of the largest value in each row: the predicted class of each sample.
    pub fn argmax_rows(&self) -> Vec<usize> {
        (0..self.rows).map(|i| argmax(self.row(i))).collect()
    }
}

/// Reads one value of every 64-byte cache line of each of `rows`, so that the CPU requests all
/// their lines at once instead of one row after another: the rows of a mini-batch, scattered
/// over a dataset larger than the caches, then arrive in about the time one would. (Gathering
/// copies a batch right after this; the copy then finds its rows in the cache.)
pub fn touch_cache_lines<'a, T: Copy + 'a>(rows: impl IntoIterator<Item = &'a [T]>) {
    let size = std::mem::size_of::<T>().max(1);
    for row in rows {
        for offset in line_offsets(row.as_ptr() as usize, std::mem::size_of_val(row)) {
            std::hint::black_box(row[offset / size]);
        }
    }
}

/// Asks the CPU to start fetching every 64-byte cache line of each of `rows` into its caches,
/// without waiting for them (a software prefetch, which cannot fault): the rows of the next
/// mini-batch arrive from memory while the current one is computed, and its listing or copy
/// then finds them in the cache. A no-op on CPUs other than x86-64.
pub fn prefetch_cache_lines<'a, T: 'a>(rows: impl IntoIterator<Item = &'a [T]>) {
    #[cfg(target_arch = "x86_64")]
    for row in rows {
        let start = row.as_ptr().cast::<i8>();
        for offset in line_offsets(start as usize, std::mem::size_of_val(row)) {
            // SAFETY: SSE, which the instruction needs, is part of every x86-64 CPU; a prefetch
            // loads nothing the program sees and never faults (and `offset` is within `row`).
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(start.wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    drop(rows.into_iter());
}

/// An offset within each 64-byte cache line that `bytes` bytes from address `start` touch: the
/// row's start, then the start of every later line it reaches. (Stepping by 64 from the start
/// would miss the last line of a row that does not begin on a line: a 150-byte row from byte
/// 40 of a line touches four lines, and offsets 0, 64 and 128 reach only three of them.)
fn line_offsets(start: usize, bytes: usize) -> impl Iterator<Item = usize> {
    let first_line_end = (start / 64 + 1) * 64 - start;
    std::iter::once(0).filter(move |_| bytes > 0).chain((first_line_end..bytes).step_by(64))
}

/// Index of the largest element (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = j;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::line_offsets;

    #[test]
    fn line_offsets_reach_every_cache_line_of_a_row_once() {
        for start in 0..192 {
            for bytes in 0..400 {
                let offsets: Vec<usize> = line_offsets(start, bytes).collect();
                assert!(offsets.iter().all(|&o| o < bytes), "start {start}, {bytes} bytes: {offsets:?}");
                let lines: Vec<usize> = offsets.iter().map(|o| (start + o) / 64).collect();
                let expected: Vec<usize> = if bytes == 0 { vec![] } else { (start / 64..=(start + bytes - 1) / 64).collect() };
                assert_eq!(lines, expected, "start {start}, {bytes} bytes");
            }
        }
    }
}
