//! Products with a mostly-zero matrix: the input images.
//!
//! About 80% of the pixels of an MNIST digit are exactly 0 (the background, `0/255`), and
//! rotating, scaling or elastically distorting a digit keeps the background at 0. The first
//! layer's two products read the input batch `X` itself:
//!
//! forward  `Z₁ = X·W₁ + b₁`   — row `i` of `Z₁` is `b₁ + Σ_{p: x_ip ≠ 0} x_ip · W₁[p, :]`
//! backward `dW₁ = Xᵀ·dZ₁`     — row `p` of `dW₁` is `Σ_{i: x_ip ≠ 0} x_ip · dZ₁[i, :]`
//!
//! (the first layer needs no `dX`). Skipping the zero terms changes no value (they add
//! exactly 0) but skips ~80% of the work, and the first layer is most of the work of a
//! network on 784 pixels. The dense GEMM cannot skip them: it multiplies every entry.
//!
//! [`Csr`] holds a matrix by its non-zero entries, row by row ("compressed sparse rows");
//! the transpose `Xᵀ` is a [`Csr`] too, so one kernel, [`csr_matmul`] (`C = A·B (+ bias)`
//! with `A` sparse and `B` dense), does both products. For a narrow layer (softmax regression,
//! 10 units) [`csr_t_matmul`] computes `Xᵀ·dZ₁` from `X` itself, without listing `Xᵀ`. Each
//! kernel has its definition beside it (`…_reference`) for the tests.

use crate::tensor::Matrix;
use std::ops::Range;

/// Inputs sparser than this (fraction of non-zero entries) take the sparse path.
pub const MAX_DENSITY: f32 = 0.4;
/// A first layer of at least this many units is *wide*: its weight gradient `dW₁ = Xᵀ·dZ₁`
/// reads the listed transpose `Xᵀ` ([`csr_matmul`]), and even a batch given as dense `f32` is
/// worth listing for it. A narrower one (softmax regression's 10 units) scatters each sample's
/// row of `dZ₁` instead ([`csr_t_matmul`], no `Xᵀ`), and takes the sparse path only for batches
/// listed straight from bytes: listing a dense batch would cost more than its small products
/// save (prediction on 1000 dense rows ran at 1.3 M images/s that way, 2.9 M with the GEMM).
pub const WIDE_OUTPUTS: usize = 16;

/// A `rows × cols` matrix stored by its non-zero entries, row by row: row `i`'s entries are
/// `entries[start[i]..start[i + 1]]`, each `(column, value)`, in increasing column order.
/// The buffers are reused from batch to batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Csr {
    /// Rows of the matrix.
    pub rows: usize,
    /// Columns of the matrix.
    pub cols: usize,
    /// Where each row's entries start in `entries` (`rows + 1` values, the last = all entries).
    pub start: Vec<u32>,
    /// The non-zero entries, row after row: `(column, value)`.
    pub entries: Vec<(u32, f32)>,
}

impl Csr {
    /// The fraction of non-zero entries (0 for an empty matrix).
    pub fn density(&self) -> f32 {
        self.entries.len() as f32 / (self.rows * self.cols).max(1) as f32
    }

    /// Refills `self` with the non-zero entries of `x`.
    pub fn fill_from_dense(&mut self, x: &Matrix) {
        self.fill_from_dense_up_to(x, usize::MAX);
    }

    /// [`Csr::fill_from_dense`] if `x` has at most `max_entries` non-zero entries (returns
    /// `true`); else stops once they are counted, before listing any, leaves `self` without
    /// entries and returns `false`. (A batch too dense for the sparse path costs one count.)
    pub fn fill_from_dense_up_to(&mut self, x: &Matrix, max_entries: usize) -> bool {
        self.fill_by_rows(
            x.rows,
            x.cols,
            max_entries,
            &|first, counts| {
                for (i, count) in (first..).zip(counts) {
                    // (Counted in 32-bit lanes: eight floats an instruction with AVX2.)
                    *count = x.row(i).iter().fold(0u32, |n, &v| n + u32::from(v != 0.0));
                }
            },
            &|rows, out| {
                // Eight pixels at a time: a bit mask of the non-zero ones (mostly none: the
                // background), then one step per set bit, with no branch on each pixel's value.
                let mut out = out.iter_mut();
                for i in rows {
                    for (c, chunk) in x.row(i).chunks(8).enumerate() {
                        let mut nonzero = chunk.iter().enumerate().fold(0u32, |m, (j, &v)| m | (u32::from(v != 0.0) << j));
                        while nonzero != 0 {
                            let j = nonzero.trailing_zeros() as usize;
                            *out.next().unwrap() = ((c * 8 + j) as u32, chunk[j]);
                            nonzero &= nonzero - 1;
                        }
                    }
                }
            },
        )
    }

    /// Refills `self` with `rows` rows of bytes, `row(i)` being row `i` (`cols` bytes), each
    /// non-zero byte `k` becoming the entry `k as f32 · scale` — the entries
    /// [`Csr::fill_from_dense`] lists from those rows once scaled, without writing the dense
    /// matrix first (a batch of images goes from the dataset's bytes to this list directly).
    pub fn fill_from_bytes<'a>(&mut self, rows: usize, cols: usize, row: &(dyn Fn(usize) -> &'a [u8] + Sync), scale: f32) {
        self.fill_from_bytes_up_to(rows, cols, row, scale, usize::MAX);
    }

    /// [`Csr::fill_from_bytes`] if the rows have at most `max_entries` non-zero bytes (returns
    /// `true`); else, as [`Csr::fill_from_dense_up_to`], lists none and returns `false`.
    pub fn fill_from_bytes_up_to<'a>(
        &mut self,
        rows: usize,
        cols: usize,
        row: &(dyn Fn(usize) -> &'a [u8] + Sync),
        scale: f32,
        max_entries: usize,
    ) -> bool {
        self.fill_by_rows(
            rows,
            cols,
            max_entries,
            &|first, counts| {
                crate::tensor::touch_cache_lines((first..first + counts.len()).map(row));
                for (i, count) in (first..).zip(counts) {
                    let bytes = row(i);
                    assert_eq!(bytes.len(), cols, "Csr::fill_from_bytes: row {i} has {} bytes, not {cols}", bytes.len());
                    *count = count_nonzero(bytes) as u32;
                }
            },
            &|rows, out| {
                // A row is listed in pieces of up to `PIECE` bytes straight into `out`, whose
                // entries after the piece's (the next pieces' and rows') are written later: the
                // up to `SLACK` entries a lister writes past its last one land there. Only near
                // the end of `out` (this thread's part) is a piece listed into `piece`, which has
                // room for them, and copied out.
                let mut piece = [(0u32, 0.0f32); PIECE + SLACK];
                let mut written = 0;
                for i in rows {
                    for (p, bytes) in row(i).chunks(PIECE).enumerate() {
                        let first = (p * PIECE) as u32;
                        let count = match out.get_mut(written..written + PIECE + SLACK) {
                            Some(room) => list_bytes(bytes, first, scale, room.try_into().unwrap()),
                            None => {
                                let count = list_bytes(bytes, first, scale, &mut piece);
                                out[written..written + count].copy_from_slice(&piece[..count]);
                                count
                            }
                        };
                        written += count;
                    }
                }
            },
        )
    }

    /// Refills `self` with the rows `indices` of `packed`, each non-zero byte `k` becoming the
    /// entry `k as f32 · scale`: the entries [`Csr::fill_from_bytes`] lists from the same rows'
    /// bytes. Each row's length is known, so (unlike the bytes) nothing is counted first: a
    /// batch of more than `max_entries` entries is refused at once (`false`, no entries), and
    /// otherwise the threads list ranges of rows in one parallel pass.
    pub fn fill_from_packed(&mut self, packed: &PackedRows, indices: &[usize], scale: f32, max_entries: usize) -> bool {
        let rows = indices.len();
        self.prepare(rows, packed.cols, rows * packed.cols);
        for (count, &i) in self.start.iter_mut().zip(indices) {
            *count = packed.row_len(i) as u32;
        }
        if self.start.iter().map(|&n| n as usize).sum::<usize>() > max_entries {
            self.start.fill(0);
            self.entries.clear();
            return false;
        }
        self.counts_to_starts();
        let parts = parts(rows, rows * packed.cols);
        crate::parallel::for_each_part(self.split(parts), &|part, (_, out)| {
            let mut written = 0;
            for &i in &indices[parts.range(part, rows)] {
                let len = packed.row_len(i);
                packed.list_row(i, scale, &mut out[written..written + len]);
                written += len;
            }
        });
        true
    }

    /// Refills `self` as a `rows × cols` matrix, row by row, in two parallel passes over ranges
    /// of rows: `count(first, counts)` writes the number of entries of rows `first..` into
    /// `counts` (→ where each row starts), then `list(rows, out)` writes those rows' entries, in
    /// column order, into `out` (exactly as many as counted) — unless there are more than
    /// `max_entries`: then `self` is left without entries and the result is `false`.
    fn fill_by_rows(
        &mut self,
        rows: usize,
        cols: usize,
        max_entries: usize,
        count: &(dyn Fn(usize, &mut [u32]) + Sync),
        list: &ListRows,
    ) -> bool {
        self.prepare(rows, cols, rows * cols);
        let parts = parts(rows, rows * cols);
        crate::parallel::for_each_chunk_mut(&mut self.start[..rows], 1, parts.per_part, &|first, counts| count(first, counts));
        if self.start[..rows].iter().map(|&n| n as usize).sum::<usize>() > max_entries {
            self.start.fill(0);
            self.entries.clear();
            return false;
        }
        self.counts_to_starts();
        crate::parallel::for_each_part(self.split(parts), &|part, (_, out)| list(parts.range(part, rows), out));
        true
    }

    /// Refills `self` with the transpose of `a`, in parallel over ranges of `a`'s columns (this
    /// matrix's rows): in each row of `a`, a binary search finds the entries of the range,
    /// which are counted (→ where each column starts), then copied. Within each new row the
    /// entries stay in increasing order.
    pub fn fill_transpose_of(&mut self, a: &Csr) {
        self.prepare(a.cols, a.rows, a.rows * a.cols);
        let parts = parts(a.cols, a.entries.len());
        // Row `i` of `a`, cut to the columns `cols` (no search at the ends of the row).
        let row_in = |i: usize, cols: &std::ops::Range<usize>| {
            let row = a.row(i);
            let from = if cols.start == 0 { 0 } else { row.partition_point(|&(p, _)| (p as usize) < cols.start) };
            let to = if cols.end >= a.cols { row.len() } else { row.partition_point(|&(p, _)| (p as usize) < cols.end) };
            &row[from..to]
        };
        crate::parallel::for_each_chunk_mut(&mut self.start[..a.cols], 1, parts.per_part, &|first, counts| {
            counts.fill(0);
            for i in 0..a.rows {
                for &(p, _) in row_in(i, &(first..first + counts.len())) {
                    counts[p as usize - first] += 1;
                }
            }
        });
        self.counts_to_starts();
        crate::parallel::for_each_part(self.split(parts), &|part, (next, out)| {
            // `next[c]`: where column `first + c`'s next entry goes (its start, then advancing).
            let first = part * parts.per_part;
            let base = next.first().copied().unwrap_or(0);
            for i in 0..a.rows {
                for &(p, v) in row_in(i, &(first..first + next.len())) {
                    let slot = &mut next[p as usize - first];
                    out[(*slot - base) as usize] = (i as u32, v);
                    *slot += 1;
                }
            }
            // Each `next[c]` is now the end of column `first + c`: the start of the one after it.
            for c in (1..next.len()).rev() {
                next[c] = next[c - 1];
            }
            if let Some(s) = next.first_mut() {
                *s = base;
            }
        });
    }

    /// Readies the buffers for a `rows × cols` matrix of up to `capacity` entries, reserving
    /// room for all of them so a training step never grows them. (The old entries stay until
    /// [`Csr::counts_to_starts`] sizes the list: every one is overwritten, so only the ones
    /// beyond the last matrix's count are zeroed, not the whole list.)
    fn prepare(&mut self, rows: usize, cols: usize, capacity: usize) {
        assert!(capacity < u32::MAX as usize, "Csr: {rows}×{cols} has too many entries for 32-bit indices");
        self.rows = rows;
        self.cols = cols;
        self.start.clear();
        self.start.resize(rows + 1, 0);
        self.entries.reserve(capacity.saturating_sub(self.entries.len()));
    }

    /// Turns the per-row counts in `start[..rows]` into where each row starts (an exclusive
    /// prefix sum; `start[rows]` = all entries), and sizes `entries` to match.
    fn counts_to_starts(&mut self) {
        let mut total = 0;
        for s in &mut self.start {
            (*s, total) = (total, total + *s);
        }
        self.entries.resize(self.start[self.rows] as usize, (0, 0.0));
    }

    /// Row `i`'s entries.
    fn row(&self, i: usize) -> &[(u32, f32)] {
        &self.entries[self.start[i] as usize..self.start[i + 1] as usize]
    }

    /// For each part of the rows: its rows' starts and its rows' entries, to fill in.
    fn split(&mut self, parts: Parts) -> impl Iterator<Item = (&mut [u32], &mut [(u32, f32)])> {
        let (mut starts, mut entries) = (&mut self.start[..], &mut self.entries[..]);
        std::iter::from_fn(move || {
            let rows = (starts.len() - 1).min(parts.per_part);
            if rows == 0 {
                return None;
            }
            let count = (starts[rows] - starts[0]) as usize;
            let (mine, rest) = std::mem::take(&mut starts).split_at_mut(rows);
            let (out, tail) = std::mem::take(&mut entries).split_at_mut(count);
            (starts, entries) = (rest, tail);
            Some((mine, out))
        })
    }
}

/// Rows of bytes (a training set's images) held by their non-zero bytes, to list mini-batches
/// from again and again ([`Csr::fill_from_packed`]): each row is a bit mask of its non-zero
/// bytes (bit `j % 64` of word `j / 64` for byte `j`) followed, in a second buffer, by those
/// bytes in order. An MNIST digit (19% of its 784 pixels non-zero) takes 13 words and about 150
/// bytes instead of 784 bytes: a shuffled batch comes from memory in a third of the cache
/// lines, and each row's length is known without counting it.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedRows {
    /// Bytes in a row.
    cols: usize,
    /// 64-bit words of mask per row, `⌈cols / 64⌉`.
    words: usize,
    /// `rows × words` masks of the non-zero bytes.
    masks: Vec<u64>,
    /// The non-zero bytes, row after row.
    values: Vec<u8>,
    /// Where each row's bytes start in `values` (`rows + 1` values).
    starts: Vec<usize>,
}

impl PackedRows {
    /// Packs `rows` rows of `cols` bytes, `row(i)` being row `i`. Counts the non-zero bytes
    /// first, so that the packed bytes are allocated once, at their size.
    pub fn new<'a>(rows: usize, cols: usize, row: &dyn Fn(usize) -> &'a [u8]) -> PackedRows {
        let words = cols.div_ceil(64);
        let mut starts = Vec::with_capacity(rows + 1);
        starts.push(0);
        for i in 0..rows {
            let bytes = row(i);
            assert_eq!(bytes.len(), cols, "PackedRows::new: row {i} has {} bytes, not {cols}", bytes.len());
            starts.push(starts[i] + count_nonzero(bytes));
        }
        let mut packed =
            PackedRows { cols, words, masks: vec![0; rows * words], values: Vec::with_capacity(starts[rows]), starts };
        // Each row is listed by the byte lister (with scale 1, so each value is its byte, exactly)
        // a piece at a time; its entries become the mask's bits and the packed bytes.
        let mut piece = [(0u32, 0.0f32); PIECE + SLACK];
        for i in 0..rows {
            let mask = &mut packed.masks[i * words..(i + 1) * words];
            for (p, bytes) in row(i).chunks(PIECE).enumerate() {
                let count = list_bytes(bytes, (p * PIECE) as u32, 1.0, &mut piece);
                for &(j, byte) in &piece[..count] {
                    mask[j as usize / 64] |= 1 << (j % 64);
                    packed.values.push(byte as u8);
                }
            }
        }
        packed
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Bytes in a row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the packed rows take (masks, bytes and row starts).
    pub fn size_in_bytes(&self) -> usize {
        8 * self.masks.len() + self.values.len() + std::mem::size_of::<usize>() * self.starts.len()
    }

    /// Row `i`'s number of non-zero bytes.
    pub fn row_len(&self, i: usize) -> usize {
        self.starts[i + 1] - self.starts[i]
    }

    /// Row `i`'s mask and non-zero bytes.
    fn row(&self, i: usize) -> (&[u64], &[u8]) {
        (&self.masks[i * self.words..(i + 1) * self.words], &self.values[self.starts[i]..self.starts[i + 1]])
    }

    /// Asks the CPU to start fetching rows `indices` (see [`crate::tensor::prefetch_cache_lines`]).
    pub fn prefetch(&self, indices: &[usize]) {
        for &i in indices {
            let (mask, values) = self.row(i);
            crate::tensor::prefetch_cache_lines([mask]);
            crate::tensor::prefetch_cache_lines([values]);
        }
    }

    /// Lists row `i` into `out` (exactly [`PackedRows::row_len`] long) as entries
    /// `(position, byte as f32 · scale)`, in order: with AVX2 by [`list_packed_avx2`], else by
    /// [`list_packed_plain`] (the reference a test compares it with).
    fn list_row(&self, i: usize, scale: f32, out: &mut [(u32, f32)]) {
        let (mask, values) = self.row(i);
        assert_eq!(values.len(), out.len(), "PackedRows::list_row: {} entries for row {i} of {}", out.len(), values.len());
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, and `values` and `out` have the same length.
            return unsafe { list_packed_avx2(mask, values, scale, out) };
        }
        list_packed_plain(mask, values, scale, out)
    }
}

/// One packed row's entries, one set bit of its mask at a time: the `c`-th set bit, at
/// position `p`, becomes `(p, values[c] as f32 · scale)`. `out` is as long as `values`.
fn list_packed_plain(mask: &[u64], values: &[u8], scale: f32, out: &mut [(u32, f32)]) {
    let mut count = 0;
    for (w, &word) in mask.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            out[count] = ((64 * w + b) as u32, values[count] as f32 * scale);
            count += 1;
        }
    }
}

/// [`list_packed_plain`] with AVX2, eight positions of the row at a time: for each byte of the
/// mask with a set bit (found by its bit, as in [`list_bytes_avx2`]), the next eight packed
/// bytes become eight `f32` values (`byte as f32 · scale`, the same bits as one at a time),
/// the positions of its set bits are packed to the front by one shuffle ([`LEFT_PACK`]), and
/// the eight `(position, value)` entries are stored at once; the count advances by the set
/// bits (the entries past them are overwritten by the next group). Within eight entries of the
/// row's end the group is written one entry at a time instead, so nothing is read or written
/// past the row.
///
/// # Safety
///
/// The CPU must have AVX2, and `out.len() == values.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn list_packed_avx2(mask: &[u64], values: &[u8], scale: f32, out: &mut [(u32, f32)]) {
    use std::arch::x86_64::*;
    let mut count = 0;
    let scale_lanes = _mm256_set1_ps(scale);
    for (w, &word) in mask.iter().enumerate() {
        // Bit `g`: byte `g` of the mask word (positions `64w + 8g ..` of the row) has a set bit.
        let zero = _mm_cmpeq_epi8(_mm_cvtsi64_si128(word as i64), _mm_setzero_si128());
        let mut groups = !(_mm_movemask_epi8(zero) as u32) & 0xff;
        while groups != 0 {
            let g = groups.trailing_zeros() as usize;
            groups &= groups - 1;
            let bits = ((word >> (8 * g)) & 0xff) as usize;
            let first = 64 * w + 8 * g;
            if count + 8 <= out.len() {
                // SAFETY: a table row is 8 `u32`s and `count + 8 ≤ values.len()`: each load
                // reads within its source.
                let (shuffle, bytes) = unsafe {
                    (_mm256_loadu_si256(LEFT_PACK[bits].as_ptr().cast()), _mm_loadl_epi64(values[count..].as_ptr().cast()))
                };
                let scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), scale_lanes);
                let positions = _mm256_add_epi32(shuffle, _mm256_set1_epi32(first as i32));
                store_eight_entries(positions, scaled, (&mut out[count..count + 8]).try_into().unwrap());
                count += bits.count_ones() as usize;
            } else {
                let mut rest = bits;
                while rest != 0 {
                    let b = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    out[count] = ((first + b) as u32, values[count] as f32 * scale);
                    count += 1;
                }
            }
        }
    }
}

/// How many bytes [`list_bytes`] lists at a time.
const PIECE: usize = 256;

/// How many entries past the returned count [`list_bytes`] may overwrite: a lister writes
/// whole groups of entries (8 with AVX2, 16 with AVX-512) and keeps the non-zero ones.
const SLACK: usize = 16;

/// Lists the non-zero bytes of `bytes` (at most [`PIECE`]) into `out` as entries
/// `(first + position, byte as f32 · scale)`, in order; returns how many. Entries past the
/// returned count, up to [`SLACK`] of them, may be overwritten too.
///
/// A group of bytes at a time (8, or 16 with AVX-512): a group of zero bytes (the background)
/// is skipped; otherwise all its bytes are written as entries and the write position advances
/// past the non-zero ones only — no branch on each byte's value, which the CPU could not
/// predict. With AVX-512 the sixteen entries are packed by one compress instruction
/// ([`list_bytes_avx512`]), with AVX2 eight by one left-packing shuffle ([`list_bytes_avx2`],
/// which first finds the non-zero groups of the whole piece, and then visits only those);
/// [`list_bytes_plain`] is the same list one byte at a time, and the reference a test compares
/// them with.
fn list_bytes(bytes: &[u8], first: u32, scale: f32, out: &mut [(u32, f32); PIECE + SLACK]) -> usize {
    assert!(bytes.len() <= PIECE, "list_bytes: {} bytes in one piece", bytes.len());
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512bw") && has!("avx512vl") {
            // SAFETY: the CPU has the features; `bytes` is at most `PIECE` long, so (16 entries
            // per group written at the count so far, at most `PIECE − 16`) every write lies in `out`.
            return unsafe { list_bytes_avx512(bytes, first, scale, out) };
        }
        if has!("avx2") {
            // SAFETY: the CPU has AVX2; `bytes` is at most `PIECE` long, so (8 entries per word
            // written at the count so far, at most `PIECE − 8`) every write lies in `out`.
            return unsafe { list_bytes_avx2(bytes, first, scale, out) };
        }
    }
    list_bytes_plain(bytes, first, scale, out)
}

/// [`list_bytes`] with AVX-512, sixteen bytes at a time: their mask of non-zero bytes, the
/// bytes as sixteen `f32` values (`byte as f32 · scale`, the same bits as one at a time) and
/// their positions, each packed to the front by one compress instruction, interleaved into
/// sixteen `(position, value)` entries and stored at once; the count advances by the non-zero
/// bytes.
///
/// # Safety
///
/// The CPU must have AVX-512F, AVX-512BW and AVX-512VL, and `bytes.len() ≤ PIECE`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn list_bytes_avx512(bytes: &[u8], first: u32, scale: f32, out: &mut [(u32, f32); PIECE + SLACK]) -> usize {
    use std::arch::x86_64::*;
    let mut count = 0;
    let mut groups = bytes.chunks_exact(16);
    let scale_lanes = _mm512_set1_ps(scale);
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // `unpacklo`/`unpackhi` interleave positions and values within each 128-bit lane: (p0 v0 p1
    // v1 | p4 v4 p5 v5 | …) and (p2 v2 p3 v3 | p6 v6 p7 v7 | …); these pick entries 0–7 and
    // 8–15 out of the two (indices 16 and up name the second).
    let entries_0_7 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    let entries_8_15 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (g, group) in (&mut groups).enumerate() {
        // SAFETY: `group` is 16 bytes, the 16 the load reads.
        let group = unsafe { _mm_loadu_si128(group.as_ptr().cast()) };
        let mask = _mm_test_epi8_mask(group, group);
        if mask == 0 {
            continue;
        }
        let values = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(group)), scale_lanes);
        let positions = _mm512_add_epi32(lanes, _mm512_set1_epi32((first as usize + g * 16) as i32));
        let values = _mm512_maskz_compress_ps(mask, values);
        let positions = _mm512_castsi512_ps(_mm512_maskz_compress_epi32(mask, positions));
        let (low, high) = (_mm512_unpacklo_ps(positions, values), _mm512_unpackhi_ps(positions, values));
        let to = out[count..].as_mut_ptr().cast::<f32>();
        // SAFETY: `count ≤ 16·g ≤ PIECE − 16`, so entries `count..count + 16` lie within `out`.
        unsafe {
            _mm512_storeu_ps(to, _mm512_permutex2var_ps(low, entries_0_7, high));
            _mm512_storeu_ps(to.add(16), _mm512_permutex2var_ps(low, entries_8_15, high));
        }
        count += mask.count_ones() as usize;
    }
    let tail = bytes.len() - groups.remainder().len();
    for (j, &b) in (tail..).zip(groups.remainder()) {
        out[count] = (first + j as u32, b as f32 * scale);
        count += usize::from(b != 0);
    }
    count
}

/// [`list_bytes`] one byte at a time (eight written per non-zero word, as the AVX2 version does).
fn list_bytes_plain(bytes: &[u8], first: u32, scale: f32, out: &mut [(u32, f32); PIECE + SLACK]) -> usize {
    let mut count = 0;
    let mut words = bytes.chunks_exact(8);
    for (w, word) in (&mut words).enumerate() {
        if u64::from_le_bytes(word.try_into().unwrap()) == 0 {
            continue;
        }
        for (j, &b) in word.iter().enumerate() {
            out[count] = (first + (w * 8 + j) as u32, b as f32 * scale);
            count += usize::from(b != 0);
        }
    }
    let tail = bytes.len() - words.remainder().len();
    for (j, &b) in (tail..).zip(words.remainder()) {
        out[count] = (first + j as u32, b as f32 * scale);
        count += usize::from(b != 0);
    }
    count
}

/// For each 8-bit mask of non-zero bytes, the positions of its set bits, packed to the front
/// (the rest 0): the shuffle that moves a word's non-zero bytes' entries together.
#[cfg(target_arch = "x86_64")]
static LEFT_PACK: [[u32; 8]; 256] = {
    let mut table = [[0u32; 8]; 256];
    let mut mask = 0;
    while mask < 256 {
        let (mut bit, mut n) = (0, 0);
        while bit < 8 {
            if mask & (1 << bit) != 0 {
                table[mask][n] = bit as u32;
                n += 1;
            }
            bit += 1;
        }
        mask += 1;
    }
    table
};

/// [`list_bytes`] with AVX2, in two steps. First, 32 bytes at a time, which of the words of
/// eight bytes have a non-zero byte: one bit each (for an MNIST digit, about two thirds of the
/// words are background). Then, for each such word only, found by its bit (no branch on each
/// word, which the CPU could not predict at the edges of the digit's strokes): its eight bytes
/// become eight `f32` values (`byte as f32 · scale`, the same bits as one at a time), their
/// non-zero ones and their positions are packed to the front by one shuffle ([`LEFT_PACK`]),
/// interleaved into eight `(position, value)` entries and stored at once; the count advances
/// by the non-zero bytes.
///
/// # Safety
///
/// The CPU must have AVX2, and `bytes.len() ≤ PIECE`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn list_bytes_avx2(bytes: &[u8], first: u32, scale: f32, out: &mut [(u32, f32); PIECE + SLACK]) -> usize {
    use std::arch::x86_64::*;
    const { assert!(PIECE / 8 <= 64, "a piece's words must fit in one 64-bit mask") };
    // Bit `w`: word `w` (bytes `8w..8w + 8`) has a non-zero byte.
    let mut nonzero_words = 0u64;
    let mut groups = bytes.chunks_exact(32);
    for (g, group) in (&mut groups).enumerate() {
        // SAFETY: `group` is 32 bytes, the 32 the load reads.
        let group = unsafe { _mm256_loadu_si256(group.as_ptr().cast()) };
        let zero_words = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(group, _mm256_setzero_si256())));
        nonzero_words |= u64::from(!zero_words as u8 & 0xf) << (4 * g);
    }
    let words_before = (bytes.len() - groups.remainder().len()) / 8;
    for (w, word) in (words_before..).zip(groups.remainder().chunks_exact(8)) {
        nonzero_words |= u64::from(u64::from_le_bytes(word.try_into().unwrap()) != 0) << w;
    }
    let mut count = 0;
    let scale_lanes = _mm256_set1_ps(scale);
    let base = _mm256_set1_epi32(first as i32);
    while nonzero_words != 0 {
        let w = nonzero_words.trailing_zeros() as usize;
        nonzero_words &= nonzero_words - 1;
        let word = u64::from_le_bytes(bytes[8 * w..8 * w + 8].try_into().unwrap());
        // One bit per non-zero byte.
        let zero = _mm_cmpeq_epi8(_mm_cvtsi64_si128(word as i64), _mm_setzero_si128());
        let mask = !(_mm_movemask_epi8(zero) as u32) & 0xff;
        // SAFETY: a table row is 8 `u32`s, the 32 bytes the load reads.
        let shuffle = unsafe { _mm256_loadu_si256(LEFT_PACK[mask as usize].as_ptr().cast()) };
        let values = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(word as i64))), scale_lanes);
        let values = _mm256_permutevar8x32_ps(values, shuffle);
        let positions = _mm256_add_epi32(shuffle, _mm256_add_epi32(base, _mm256_set1_epi32((w * 8) as i32)));
        // The count so far is at most 8 per word before `w`: `count ≤ 8·w ≤ PIECE − 8`.
        store_eight_entries(positions, values, (&mut out[count..count + 8]).try_into().unwrap());
        count += mask.count_ones() as usize;
    }
    let tail = bytes.len() - bytes.len() % 8;
    for (j, &b) in (tail..).zip(&bytes[tail..]) {
        out[count] = (first + j as u32, b as f32 * scale);
        count += usize::from(b != 0);
    }
    count
}

/// Stores eight entries: lane `i` of `positions` and of `values` become entry `i` of `to`,
/// `(position, value)`. The two are interleaved, `(p0 v0 p1 v1 | p4 v4 p5 v5)` and
/// `(p2 v2 p3 v3 | p6 v6 p7 v7)`, and their halves recombined into entries 0–3 and 4–7.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn store_eight_entries(positions: std::arch::x86_64::__m256i, values: std::arch::x86_64::__m256, to: &mut [(u32, f32); 8]) {
    use std::arch::x86_64::*;
    let positions = _mm256_castsi256_ps(positions);
    let (low, high) = (_mm256_unpacklo_ps(positions, values), _mm256_unpackhi_ps(positions, values));
    let to = to.as_mut_ptr().cast::<f32>();
    // SAFETY: eight `(u32, f32)` entries are sixteen 4-byte values, the sixteen floats stored.
    unsafe {
        _mm256_storeu_ps(to, _mm256_permute2f128_ps(low, high, 0x20));
        _mm256_storeu_ps(to.add(8), _mm256_permute2f128_ps(low, high, 0x31));
    }
}

/// The number of non-zero bytes, counted in byte-wide lanes (32 bytes an instruction with
/// AVX2) in chunks short enough that a lane cannot overflow.
fn count_nonzero(bytes: &[u8]) -> usize {
    bytes.chunks(255).map(|chunk| chunk.iter().fold(0u8, |n, &b| n + u8::from(b != 0)) as usize).sum()
}

/// What [`Csr::fill_by_rows`] calls to write the entries of a range of rows.
type ListRows<'a> = dyn Fn(Range<usize>, &mut [(u32, f32)]) + Sync + 'a;

/// How rows are shared between threads while building a [`Csr`]: `per_part` consecutive rows each.
#[derive(Clone, Copy)]
struct Parts {
    per_part: usize,
}

impl Parts {
    fn range(self, part: usize, rows: usize) -> std::ops::Range<usize> {
        (part * self.per_part).min(rows)..((part + 1) * self.per_part).min(rows)
    }
}

/// One part per thread, or a single part when the matrix is too small (`work` elements) to share.
fn parts(rows: usize, work: usize) -> Parts {
    let threads = if work < 1 << 15 { 1 } else { crate::parallel::threads() };
    Parts { per_part: rows.div_ceil(threads).max(1) }
}

/// `C = A·B`, plus `bias` on every row when given: `C[i, :] = bias + Σ_k A[i, k] · B[k, :]`
/// over the non-zero `A[i, k]` only. `C` is reshaped to `rows(A) × cols(B)`.
///
/// The kernel computes `C` in blocks of columns — 64 held in SIMD registers while a row's
/// entries stream past (for one block, `B[k, block]` is 256 contiguous bytes; the block of `B`
/// is first copied out, its rows packed together, so that it stays in the core's caches: see
/// `packs` in the kernel), then 16, 8, 4, 2 and 1 for what is left. Threads take
/// ranges of `C`'s columns when there are enough for each (the first layer's 256 or 800 units),
/// else ranges of its rows (a layer of a few dozen units). Either way each element is
/// computed by one thread in one order, so the result does not depend on the thread count.
pub fn csr_matmul(a: &Csr, b: &Matrix, bias: Option<&[f32]>, c: &mut Matrix) {
    assert_eq!(a.cols, b.rows, "csr_matmul: inner dimensions differ ({}×{} · {}×{})", a.rows, a.cols, b.rows, b.cols);
    if let Some(bias) = bias {
        assert_eq!(bias.len(), b.cols, "csr_matmul: bias has {} entries for {} columns", bias.len(), b.cols);
    }
    c.reshape(a.rows, b.cols);
    let n = b.cols;
    if n == 0 {
        return;
    }
    let out = OutPtr(c.data.as_mut_ptr());
    let pack = kernel::packs(a, b);
    let block = |rows: Range<usize>, cols: Range<usize>| {
        let out = &out;
        // SAFETY: `c` has `a.rows × n` elements and outlives the call; `rows` and `cols` lie
        // within `0..a.rows` and `0..n`, and threads get disjoint ranges of one of them (and all
        // of the other), so no element is written twice.
        unsafe { kernel::block(a, b, bias, out.0, rows, cols, pack) }
    };
    let threads = crate::parallel::threads();
    if threads == 1 || a.entries.len() * n < PARALLEL_MIN_WORK {
        block(0..a.rows, 0..n);
    } else if n >= 32 * threads {
        crate::parallel::for_each_range(n, 16, &|cols| block(0..a.rows, cols));
    } else {
        crate::parallel::for_each_range(a.rows, 1, &|rows| block(rows, 0..n));
    }
}

/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_MIN_WORK: usize = 1 << 17;

/// `C = Aᵀ·B` without listing `Aᵀ`: `C[k, :] = Σ_i A[i, k] · B[i, :]` over the non-zero
/// `A[i, k]`, for a narrow `B` (the first layer's `dW₁ = Xᵀ·dZ₁` of softmax regression, 10
/// columns). `C` is reshaped to `cols(A) × cols(B)`.
///
/// Each row `i` of `A` scatters its entries: `C[k, :] += A[i, k] · B[i, :]`, with `B[i, :]` held
/// in registers (16 columns, zero-padded) and the rows of `C` (16 floats, one cache line, in a
/// padded copy) in the first-level cache. Every element sums its terms in the order of `i`, one
/// multiply-add each. For a wide `B` listing `Aᵀ` and [`csr_matmul`] are faster (a row of `C`
/// no longer fits in registers); for 10 columns this is about three times faster than
/// listing `Aᵀ` and then the product. Threads take ranges of `C`'s rows (columns of `A`),
/// each reading the part of every row of `A` that falls in its range, so the result does not
/// depend on the thread count.
pub fn csr_t_matmul(a: &Csr, b: &Matrix, c: &mut Matrix) {
    assert_eq!(a.rows, b.rows, "csr_t_matmul: inner dimensions differ ({}×{})ᵀ · {}×{}", a.rows, a.cols, b.rows, b.cols);
    c.reshape(a.cols, b.cols);
    if b.cols == 0 {
        return;
    }
    let out = OutPtr(c.data.as_mut_ptr());
    let block = |ks: Range<usize>| {
        let out = &out;
        // SAFETY: `c` has `a.cols × b.cols` elements and outlives the call; threads get
        // disjoint ranges `ks` of its rows within `0..a.cols`.
        unsafe { kernel::scatter(a, b, out.0, ks) }
    };
    if crate::parallel::threads() == 1 || a.entries.len() * b.cols.next_multiple_of(16) < PARALLEL_MIN_WORK {
        block(0..a.cols);
    } else {
        crate::parallel::for_each_range(a.cols, 16, &block);
    }
}

/// The definition of [`csr_t_matmul`]: `C[k][j] = Σ_i A[i][k]·B[i][j]`, one element at a time,
/// in the order of `i`.
pub fn csr_t_matmul_reference(a: &Csr, b: &Matrix, c: &mut Matrix) {
    c.reshape(a.cols, b.cols);
    c.data.fill(0.0);
    for i in 0..a.rows {
        for &(k, v) in a.row(i) {
            for j in 0..b.cols {
                c.data[k as usize * b.cols + j] += v * b.data[i * b.cols + j];
            }
        }
    }
}

/// The output pointer, shared by threads that write disjoint columns.
struct OutPtr(*mut f32);
// SAFETY: only dereferenced by `kernel::block`, on disjoint blocks of a matrix that
// `csr_matmul` borrows mutably for the whole call.
unsafe impl Send for OutPtr {}
// SAFETY: as for `Send`: no element is written from two threads.
unsafe impl Sync for OutPtr {}

/// The definition: `C[i][j] = bias[j] + Σ_k A[i][k]·B[k][j]`, one element at a time.
pub fn csr_matmul_reference(a: &Csr, b: &Matrix, bias: Option<&[f32]>, c: &mut Matrix) {
    c.reshape(a.rows, b.cols);
    for i in 0..a.rows {
        for j in 0..b.cols {
            let mut sum = bias.map_or(0.0, |bias| bias[j]);
            for &(k, v) in a.row(i) {
                sum += v * b.data[k as usize * b.cols + j];
            }
            c.data[i * b.cols + j] = sum;
        }
    }
}

/// The inner loops, compiled three times on x86-64: for AVX-512 + FMA and for AVX2 + FMA (the
/// first the CPU has is chosen at run time; the same operations in the same order, so the same
/// bits) and for the baseline instruction set. (Dispatched here by hand rather than
/// with the `multiversion` crate the optimizer uses, because the two versions differ in code,
/// not just in instructions: `mul_add` is one instruction with FMA and a slow library call
/// without it.)
mod kernel {
    use super::{Csr, Matrix, Range};

    /// Rows `rows`, columns `cols` of `C = A·B (+ bias)`, written through `c` (row-major, `B.cols` wide).
    /// With `pack`, strips of 64 columns of `B` are read from a packed copy ([`strips`]).
    ///
    /// # Safety
    ///
    /// `c` must point to `a.rows × b.cols` writable `f32`s that nothing else reads or writes
    /// in that block during the call; `rows` must lie within `0..a.rows`, `cols` within `0..b.cols`.
    pub unsafe fn block(
        a: &Csr,
        b: &Matrix,
        bias: Option<&[f32]>,
        c: *mut f32,
        rows: Range<usize>,
        cols: Range<usize>,
        pack: bool,
    ) {
        // SAFETY: the caller upholds `# Safety`; `Isa::best` runs on this CPU.
        unsafe { block_on(Isa::best(), a, b, bias, c, rows, cols, pack) }
    }

    /// The instruction sets the kernels are compiled for. The ones with a fused multiply-add
    /// compute the same operations in the same order, so the same bits; x86-64's baseline has
    /// no fused multiply-add (a multiply, then an add: other bits).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Isa {
        /// AVX-512F with FMA (x86-64): 16 floats a register.
        Avx512,
        /// AVX2 with FMA (x86-64): 8 floats a register.
        Avx2,
        /// The target's baseline: SSE2 on x86-64 (no FMA), NEON on aarch64 (with FMA).
        Baseline,
    }

    impl Isa {
        /// Every one of them, best first.
        pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Baseline];

        /// Whether this CPU runs code compiled for it.
        pub fn runs_here(self) -> bool {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                match self {
                    Isa::Avx512 => has!("avx512f") && has!("avx2") && has!("fma"),
                    Isa::Avx2 => has!("avx2") && has!("fma"),
                    Isa::Baseline => true,
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                self == Isa::Baseline
            }
        }

        /// The best one this CPU runs (a few cached flags to read: cheap enough for every call).
        pub fn best() -> Isa {
            Isa::ALL.into_iter().find(|isa| isa.runs_here()).unwrap_or(Isa::Baseline)
        }
    }

    /// [`block`] with the kernel compiled for `isa`.
    ///
    /// # Safety
    ///
    /// As [`block`]; `isa` must run on this CPU ([`Isa::runs_here`]).
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn block_on(
        isa: Isa,
        a: &Csr,
        b: &Matrix,
        bias: Option<&[f32]>,
        c: *mut f32,
        rows: Range<usize>,
        cols: Range<usize>,
        pack: bool,
    ) {
        // The scratch buffers are taken here, outside the compiled-for-AVX code: the kernel must
        // not run inside a closure (such as the thread-local's), which is compiled without the
        // enclosing function's CPU features unless the compiler happens to inline it — and then
        // `mul_add` becomes a call to the library's `fmaf`, some fifty times slower.
        let run = |packed: Option<&mut Vec<f32>>, cursors: &mut Vec<u32>| match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the caller vouches that the CPU has AVX-512F, AVX2 and FMA, and upholds
            // the rest of `# Safety`.
            Isa::Avx512 => unsafe { block_avx512_fma(a, b, bias, c, rows, cols, packed, cursors) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the caller vouches that the CPU has AVX2 and FMA, and upholds the rest.
            Isa::Avx2 => unsafe { block_avx2_fma(a, b, bias, c, rows, cols, packed, cursors) },
            // aarch64's baseline (NEON) has a fused multiply-add; x86-64's does not.
            // SAFETY: the caller upholds `# Safety`.
            _ => unsafe { block_with::<{ cfg!(target_arch = "aarch64") }>(a, b, bias, c, rows, cols, packed, cursors) },
        };
        SCRATCH.with_borrow_mut(|scratch| run(pack.then_some(&mut scratch.strip), &mut scratch.cursors))
    }

    /// [`block`] compiled for AVX-512 and FMA: the same operations on registers of 16 floats
    /// instead of 8 (a strip of 64 columns is 4 accumulators instead of 8), so the same bits.
    ///
    /// # Safety
    ///
    /// As [`block`], on a CPU with AVX-512F and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block_avx512_fma(
        a: &Csr,
        b: &Matrix,
        bias: Option<&[f32]>,
        c: *mut f32,
        rows: Range<usize>,
        cols: Range<usize>,
        packed: Option<&mut Vec<f32>>,
        cursors: &mut Vec<u32>,
    ) {
        // SAFETY: the caller upholds `# Safety`.
        unsafe { block_with::<true>(a, b, bias, c, rows, cols, packed, cursors) }
    }

    /// [`block`] compiled for AVX2 and FMA.
    ///
    /// # Safety
    ///
    /// As [`block`], on a CPU with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block_avx2_fma(
        a: &Csr,
        b: &Matrix,
        bias: Option<&[f32]>,
        c: *mut f32,
        rows: Range<usize>,
        cols: Range<usize>,
        packed: Option<&mut Vec<f32>>,
        cursors: &mut Vec<u32>,
    ) {
        // SAFETY: the caller upholds `# Safety`.
        unsafe { block_with::<true>(a, b, bias, c, rows, cols, packed, cursors) }
    }

    /// [`block`] in strips of 64 columns (8 AVX registers of accumulators), then 16, 8, 4, 2, 1
    /// — or, when packing pays, the columns left after the strips of 64 in strips of 16 read
    /// from a packed copy padded with zero columns (softmax regression's 10 outputs are one
    /// such strip): the padding's products are computed and not stored.
    ///
    /// # Safety
    ///
    /// As [`block`].
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block_with<const FMA: bool>(
        a: &Csr,
        b: &Matrix,
        bias: Option<&[f32]>,
        c: *mut f32,
        rows: Range<usize>,
        cols: Range<usize>,
        packed: Option<&mut Vec<f32>>,
        cursors: &mut Vec<u32>,
    ) {
        let mut j = cols.start;
        let mut packed = packed;
        // SAFETY: each call computes strips that lie within `cols` (see `strips`), which the
        // caller guarantees are in `0..b.cols` and, with `rows`, this call's alone.
        unsafe {
            // Strips of 64 are packed only when `B` is wider than one (else its rows are contiguous).
            let wide = if b.cols > 64 { packed.as_deref_mut() } else { None };
            j = strips::<64, FMA>(a, b, bias, c, rows.clone(), j, cols.end, wide, cursors);
            if let Some(buffer) = packed {
                while j < cols.end {
                    let width = (cols.end - j).min(16);
                    let strip_of_b = Columns { data: pack_strip(buffer, b, j, width, 16), stride: 16, first: 0 };
                    strip::<16, FMA>(a, strip_of_b, bias, c, b.cols, rows.clone(), j, width, cursors);
                    j += width;
                }
            }
            j = strips::<16, FMA>(a, b, bias, c, rows.clone(), j, cols.end, None, cursors);
            j = strips::<8, FMA>(a, b, bias, c, rows.clone(), j, cols.end, None, cursors);
            j = strips::<4, FMA>(a, b, bias, c, rows.clone(), j, cols.end, None, cursors);
            j = strips::<2, FMA>(a, b, bias, c, rows.clone(), j, cols.end, None, cursors);
            strips::<1, FMA>(a, b, bias, c, rows, j, cols.end, None, cursors);
        }
    }

    /// As many [`strip`]s of `W` columns from column `j` as fit before `end`; returns where they stop.
    /// Given `packed`, each strip of `B` is first copied into it, contiguous and cache-line aligned
    /// (its rows `W` floats apart instead of `B.cols`), which the strip then reads: the same
    /// multiply-adds in the same order, so the same bits (see [`packs`] for why and when).
    ///
    /// # Safety
    ///
    /// As [`strip`] for every strip, i.e. for columns `j..end`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn strips<const W: usize, const FMA: bool>(
        a: &Csr,
        b: &Matrix,
        bias: Option<&[f32]>,
        c: *mut f32,
        rows: Range<usize>,
        mut j: usize,
        end: usize,
        mut packed: Option<&mut Vec<f32>>,
        cursors: &mut Vec<u32>,
    ) -> usize {
        while j + W <= end {
            let strip_of_b = match packed.as_deref_mut() {
                Some(buffer) => Columns { data: pack_strip(buffer, b, j, W, W), stride: W, first: 0 },
                None => Columns { data: &b.data, stride: b.cols, first: j },
            };
            // SAFETY: `j..j + W` lies within `j..end`, which the caller vouches for; a packed
            // strip has `b.rows` rows of `W` columns, as the strip reads.
            unsafe { strip::<W, FMA>(a, strip_of_b, bias, c, b.cols, rows.clone(), j, W, cursors) };
            j += W;
        }
        j
    }

    /// Whether [`block`] reads its strips of `B` from packed copies: when copying a strip out
    /// costs little beside the multiply-adds that read it (`A` has at least 8 entries per row
    /// of `B`). A strip of `B` read in place has its rows a whole row of `B` apart (1 KiB for
    /// 256 units), which fall on a few cache sets and evict each other; packed, the backward
    /// product's strip of `dZ₁` (one row per sample) fits the core's first-level cache and the
    /// forward product's strip of `W₁` its second-level one, a block of rows at a time
    /// ([`BLOCK_OF_B`]). And a last strip narrower
    /// than 16 columns is padded to 16 in the copy: one strip instead of 8 + 2 for 10 columns.
    pub fn packs(a: &Csr, b: &Matrix) -> bool {
        a.entries.len() >= 8 * b.rows
    }

    /// A thread's buffers for the kernels: grown to the largest size seen, then reused, so a
    /// training step allocates nothing.
    struct Scratch {
        /// The copy of the strip of `B` it works on ([`strips`], when [`packs`]; [`scatter`]'s
        /// sums), with room to start on a cache line.
        strip: Vec<f32>,
        /// Where each row of `A` resumes at the next block of `B`'s rows ([`strip`]).
        cursors: Vec<u32>,
    }

    thread_local! {
        /// Each thread's [`Scratch`].
        static SCRATCH: std::cell::RefCell<Scratch> = const { std::cell::RefCell::new(Scratch { strip: Vec::new(), cursors: Vec::new() }) };
    }

    /// `len` floats of `buffer` starting on a 64-byte boundary (a cache line), the buffer grown
    /// to hold them if it must (never shrunk, so a training step allocates nothing).
    fn aligned(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
        const LINE: usize = 64 / size_of::<f32>();
        buffer.resize(buffer.len().max(len + LINE), 0.0);
        let skip = buffer.as_ptr().align_offset(64).min(LINE);
        &mut buffer[skip..skip + len]
    }

    /// Copies columns `j..j + width` of `B` into `buffer`, row after row, each row padded with
    /// zeros to `stride ≥ width` floats, starting on a 64-byte boundary; returns the copy
    /// (`B.rows × stride`).
    fn pack_strip<'a>(buffer: &'a mut Vec<f32>, b: &Matrix, j: usize, width: usize, stride: usize) -> &'a [f32] {
        let packed = aligned(buffer, b.rows * stride);
        if stride == 16 && width < 16 {
            // A narrow last strip: 16 floats read at a time (running into the next row of `B`,
            // except at its end), the columns past `width` then set to 0 — no call to `memcpy`
            // for each short row.
            for (k, to) in packed.chunks_exact_mut(16).enumerate() {
                let to: &mut [f32; 16] = to.try_into().unwrap();
                match b.data.get(k * b.cols + j..k * b.cols + j + 16) {
                    Some(from) => {
                        for (c, (t, &f)) in to.iter_mut().zip(from).enumerate() {
                            *t = if c < width { f } else { 0.0 };
                        }
                    }
                    None => {
                        to.fill(0.0);
                        to[..width].copy_from_slice(&b.row(k)[j..j + width]);
                    }
                }
            }
            return packed;
        }
        for (k, to) in packed.chunks_exact_mut(stride.max(1)).enumerate() {
            to[..width].copy_from_slice(&b.row(k)[j..j + width]);
            to[width..].fill(0.0);
        }
        packed
    }

    /// Rows `ks` of `C = Aᵀ·B`, written through `c` (row-major, `B.cols` wide): see
    /// [`super::csr_t_matmul`].
    ///
    /// # Safety
    ///
    /// `c` must point to `a.cols × b.cols` writable `f32`s of which nothing else reads or writes
    /// rows `ks` during the call; `ks` must lie within `0..a.cols`, and `b.rows == a.rows`.
    pub unsafe fn scatter(a: &Csr, b: &Matrix, c: *mut f32, ks: Range<usize>) {
        // SAFETY: the caller upholds `# Safety`; `Isa::best` runs on this CPU.
        unsafe { scatter_on(Isa::best(), a, b, c, ks) }
    }

    /// [`scatter`] with the kernel compiled for `isa`.
    ///
    /// # Safety
    ///
    /// As [`scatter`]; `isa` must run on this CPU ([`Isa::runs_here`]).
    pub unsafe fn scatter_on(isa: Isa, a: &Csr, b: &Matrix, c: *mut f32, ks: Range<usize>) {
        // The buffer is taken outside the compiled-for-AVX code, as in `block_on`.
        SCRATCH.with_borrow_mut(|scratch| match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the caller vouches that the CPU has AVX-512F, AVX2 and FMA, and upholds
            // the rest of `# Safety`.
            Isa::Avx512 => unsafe { scatter_avx512_fma(a, b, c, ks, &mut scratch.strip) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the caller vouches that the CPU has AVX2 and FMA, and upholds the rest.
            Isa::Avx2 => unsafe { scatter_avx2_fma(a, b, c, ks, &mut scratch.strip) },
            // SAFETY: the caller upholds `# Safety`.
            _ => unsafe { scatter_with::<{ cfg!(target_arch = "aarch64") }>(a, b, c, ks, &mut scratch.strip) },
        })
    }

    /// [`scatter`] compiled for AVX-512 and FMA (a 16-float row of `C` is one register; the
    /// same operations, so the same bits).
    ///
    /// # Safety
    ///
    /// As [`scatter`], on a CPU with AVX-512F and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn scatter_avx512_fma(a: &Csr, b: &Matrix, c: *mut f32, ks: Range<usize>, buffer: &mut Vec<f32>) {
        // SAFETY: the caller upholds `# Safety`.
        unsafe { scatter_with::<true>(a, b, c, ks, buffer) }
    }

    /// [`scatter`] compiled for AVX2 and FMA.
    ///
    /// # Safety
    ///
    /// As [`scatter`], on a CPU with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scatter_avx2_fma(a: &Csr, b: &Matrix, c: *mut f32, ks: Range<usize>, buffer: &mut Vec<f32>) {
        // SAFETY: the caller upholds `# Safety`.
        unsafe { scatter_with::<true>(a, b, c, ks, buffer) }
    }

    /// [`scatter`], 16 columns of `C` at a time: the rows `ks` of those columns accumulate in
    /// `buffer` (16 floats per row, cache-line aligned), then are copied out.
    ///
    /// # Safety
    ///
    /// As [`scatter`].
    #[inline(always)]
    unsafe fn scatter_with<const FMA: bool>(a: &Csr, b: &Matrix, c: *mut f32, ks: Range<usize>, buffer: &mut Vec<f32>) {
        let n = b.cols;
        let sums = aligned(buffer, ks.len() * 16);
        for j0 in (0..n).step_by(16) {
            let width = (n - j0).min(16);
            sums.fill(0.0);
            for i in 0..a.rows {
                let mut row_of_b = [0.0f32; 16];
                row_of_b[..width].copy_from_slice(&b.row(i)[j0..j0 + width]);
                let row = a.row(i);
                let from = if ks.start == 0 { 0 } else { row.partition_point(|&(k, _)| (k as usize) < ks.start) };
                let to = if ks.end >= a.cols { row.len() } else { row.partition_point(|&(k, _)| (k as usize) < ks.end) };
                for &(k, v) in &row[from..to] {
                    let sum: &mut [f32; 16] = (&mut sums[(k as usize - ks.start) * 16..][..16]).try_into().unwrap();
                    for (s, &d) in sum.iter_mut().zip(&row_of_b) {
                        *s = if FMA { v.mul_add(d, *s) } else { *s + v * d };
                    }
                }
            }
            for (r, sum) in sums.chunks_exact(16).enumerate() {
                // SAFETY: row `ks.start + r` of `c` is within `ks`, which this call owns, and
                // `j0 + width ≤ n`.
                unsafe { std::ptr::copy_nonoverlapping(sum.as_ptr(), c.add((ks.start + r) * n + j0), width) };
            }
        }
    }

    /// Where a strip of `B`'s columns is read from: row `k` of the strip is
    /// `data[k · stride + first..][..W]` (`B` itself, or a packed copy of the strip).
    #[derive(Clone, Copy)]
    struct Columns<'a> {
        data: &'a [f32],
        stride: usize,
        first: usize,
    }

    /// The most of a strip of `B` that [`strip`] reads in one pass over the rows: 128 KiB, a
    /// quarter of a Zen 3 core's second-level cache. The first layer's strip of `W₁` (784 rows
    /// of 64 floats, 196 KiB) read whole for every row of `X` runs at 34 GFLOP/s on one thread
    /// of this machine; read in two passes of 98 KiB, at 42 (`X`: 128 MNIST images; with 1000,
    /// as evaluation reads them, 38 → 44). Narrower strips and shorter `B`s take one pass.
    const BLOCK_OF_B: usize = 128 * 1024;

    /// Columns `j0..j0 + W` of rows `rows`: `acc = bias; for each entry (k, v) of the row: acc += v·B[k, j0..j0+W]`,
    /// with `B[k, j0..j0+W]` read from `b` and `C` being `n` columns wide; the first `store`
    /// (≤ `W`) of them are written (the others are a packed strip's zero padding).
    ///
    /// A strip of `B` larger than [`BLOCK_OF_B`] is read in passes over equal blocks of its rows,
    /// each pass taking every row's entries that fall in its block (a row's `acc` written to `C`
    /// after one pass and read back before the next, which is exact) — the second-level cache
    /// then holds the block being read instead of missing on the whole strip. The entries are
    /// taken in pairs from the start of the row whatever the blocks (a pair belongs to the pass
    /// of its first entry), so every element sums the same terms in the same order: the same
    /// bits as one pass.
    ///
    /// # Safety
    ///
    /// `c` must point to `a.rows × n` writable `f32`s, `rows` must lie within `0..a.rows`,
    /// `j0 + store ≤ n`, and no other thread may touch this block of `c` during the call.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn strip<const W: usize, const FMA: bool>(
        a: &Csr,
        b: Columns,
        bias: Option<&[f32]>,
        c: *mut f32,
        n: usize,
        rows: Range<usize>,
        j0: usize,
        store: usize,
        cursors: &mut Vec<u32>,
    ) {
        let passes = (a.cols * W * size_of::<f32>()).div_ceil(BLOCK_OF_B).max(1);
        let block = a.cols.div_ceil(passes);
        let row_of = |k: u32| -> &[f32; W] { b.data[k as usize * b.stride + b.first..][..W].try_into().unwrap() };
        // Where each row resumes: the first of its entries the passes so far have not taken.
        cursors.clear();
        cursors.resize(rows.len(), 0);
        for pass in 0..passes {
            let end = if pass + 1 == passes { usize::MAX } else { (pass + 1) * block };
            for (i, cursor) in rows.clone().zip(cursors.iter_mut()) {
                // (`acc` is only ever read and written whole or at constant places, so that it
                // lives in registers; the `store`-long copies go through arrays of their own.)
                let mut start = [0.0f32; W];
                if pass > 0 {
                    // SAFETY: as the store below (the previous pass wrote these elements).
                    unsafe { std::ptr::copy_nonoverlapping(c.add(i * n + j0), start.as_mut_ptr(), store) };
                } else if let Some(bias) = bias {
                    start[..store].copy_from_slice(&bias[j0..j0 + store]);
                }
                let mut acc = start;
                let row = a.row(i);
                let mut p = *cursor as usize;
                // Two entries per step: `acc += (v₀·B[k₀] + v₁·B[k₁])`. The bracket does not wait
                // for `acc`, so each accumulator waits for one addition per two entries instead
                // of two chained multiply-adds.
                while p + 1 < row.len() && (row[p].0 as usize) < end {
                    let ((k0, v0), (k1, v1)) = (row[p], row[p + 1]);
                    let (r0, r1) = (row_of(k0), row_of(k1));
                    for j in 0..W {
                        acc[j] += if FMA { v1.mul_add(r1[j], v0 * r0[j]) } else { v0 * r0[j] + v1 * r1[j] };
                    }
                    p += 2;
                }
                if p + 1 == row.len() && (row[p].0 as usize) < end {
                    let (k, v) = row[p];
                    for (s, &w) in acc.iter_mut().zip(row_of(k)) {
                        *s = if FMA { v.mul_add(w, *s) } else { *s + v * w };
                    }
                    p += 1;
                }
                *cursor = p as u32;
                let done = acc;
                // SAFETY: `c` has `a.rows × n` elements, `i < a.rows` and `j0 + store ≤ n`; this
                // thread owns this block.
                unsafe { std::ptr::copy_nonoverlapping(done.as_ptr(), c.add(i * n + j0), store) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A matrix with about `density` of its entries non-zero.
    fn sparse_random(rows: usize, cols: usize, density: f64, rng: &mut impl Rng) -> Matrix {
        let data = (0..rows * cols).map(|_| if rng.random_bool(density) { rng.random_range(-1.0..1.0) } else { 0.0 }).collect();
        Matrix::from_vec(rows, cols, data)
    }

    #[test]
    fn transpose_holds_the_same_entries() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // Small (one thread builds it) and large (every thread builds a part).
        for (rows, cols) in [(37, 53), (128, 784), (301, 777)] {
            let x = sparse_random(rows, cols, 0.2, &mut rng);
            let (mut a, mut at) = (Csr::default(), Csr::default());
            a.fill_from_dense(&x);
            let nonzero = x.data.iter().filter(|&&v| v != 0.0).count();
            assert_eq!(a.entries.len(), nonzero);
            assert!((a.density() - nonzero as f32 / (rows * cols) as f32).abs() < 1e-6);
            for i in 0..rows {
                let dense: Vec<(u32, f32)> =
                    x.row(i).iter().enumerate().filter(|&(_, &v)| v != 0.0).map(|(p, &v)| (p as u32, v)).collect();
                assert_eq!(a.row(i), &dense[..], "row {i} of {rows}×{cols}");
            }
            at.fill_transpose_of(&a);
            let mut expected = Csr::default();
            expected.fill_from_dense(&x.transpose());
            assert_eq!(at, expected, "{rows}×{cols}");
        }
    }

    /// A lister's signature ([`list_bytes`] and its SIMD versions).
    type Lister = fn(&[u8], u32, f32, &mut [(u32, f32); PIECE + SLACK]) -> usize;

    /// The SIMD lister writes what the plain one writes, for pieces of every length up to 256
    /// bytes, any mix of zero and non-zero bytes (from nearly all words of eight bytes zero,
    /// as in a digit's background, to none), and any first position.
    #[test]
    fn listing_bytes_with_simd_matches_the_plain_lister() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for len in 0..=PIECE {
            for density in [0.0, 0.02, 0.1, 0.3, 0.5, 0.9, 1.0] {
                let bytes: Vec<u8> =
                    (0..len).map(|_| if rng.random_bool(density) { rng.random_range(1..=255) } else { 0 }).collect();
                let first = rng.random_range(0..100_000);
                let mut plain = [(0, 0.0); PIECE + SLACK];
                let count = list_bytes_plain(&bytes, first, 1.0 / 255.0, &mut plain);
                assert_eq!(count, bytes.iter().filter(|&&b| b != 0).count());
                let bits = |e: &[(u32, f32)]| e.iter().map(|&(p, v)| (p, v.to_bits())).collect::<Vec<_>>();
                // The dispatched lister, and each SIMD one this CPU runs.
                let mut listers: Vec<(&str, Lister)> = vec![("dispatched", list_bytes)];
                #[cfg(target_arch = "x86_64")]
                {
                    use std::arch::is_x86_feature_detected as has;
                    if has!("avx2") {
                        // SAFETY: the CPU has AVX2, and `bytes` is at most `PIECE` long.
                        listers.push(("avx2", |b, f, s, o| unsafe { list_bytes_avx2(b, f, s, o) }));
                    }
                    if has!("avx512f") && has!("avx512bw") && has!("avx512vl") {
                        // SAFETY: the CPU has the features, and `bytes` is at most `PIECE` long.
                        listers.push(("avx512", |b, f, s, o| unsafe { list_bytes_avx512(b, f, s, o) }));
                    }
                }
                for (name, lister) in listers {
                    let mut fast = [(0, 0.0); PIECE + SLACK];
                    assert_eq!(lister(&bytes, first, 1.0 / 255.0, &mut fast), count, "{name}");
                    assert_eq!(bits(&fast[..count]), bits(&plain[..count]), "{name}: {len} bytes at {density}");
                }
            }
        }
    }

    /// Both listers of packed rows, the plain one and (where the CPU has it) the AVX2 one, list
    /// each row as the plain byte lister lists its bytes: rows of every length 0–200 (around
    /// the 8-byte groups and 64-bit mask words, and the last eight entries, which the AVX2
    /// lister writes one at a time) at densities from none to all.
    #[test]
    fn listing_packed_rows_matches_listing_their_bytes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let bits = |e: &[(u32, f32)]| e.iter().map(|&(p, v)| (p, v.to_bits())).collect::<Vec<_>>();
        for cols in 0..=200 {
            for density in [0.0, 0.02, 0.1, 0.3, 0.5, 0.9, 1.0] {
                let rows = 3;
                let bytes: Vec<u8> =
                    (0..rows * cols).map(|_| if rng.random_bool(density) { rng.random_range(1..=255) } else { 0 }).collect();
                let packed = PackedRows::new(rows, cols, &|i| &bytes[i * cols..(i + 1) * cols]);
                for i in 0..rows {
                    let mut expected = vec![];
                    for (p, piece) in bytes[i * cols..(i + 1) * cols].chunks(PIECE).enumerate() {
                        let mut out = [(0, 0.0); PIECE + SLACK];
                        let count = list_bytes_plain(piece, (p * PIECE) as u32, 1.0 / 255.0, &mut out);
                        expected.extend_from_slice(&out[..count]);
                    }
                    assert_eq!(packed.row_len(i), expected.len());
                    let (mask, values) = packed.row(i);
                    let mut plain = vec![(0, 0.0); expected.len()];
                    list_packed_plain(mask, values, 1.0 / 255.0, &mut plain);
                    assert_eq!(bits(&plain), bits(&expected), "plain: {cols} bytes at {density}");
                    let mut dispatched = vec![(0, 0.0); expected.len()];
                    packed.list_row(i, 1.0 / 255.0, &mut dispatched);
                    assert_eq!(bits(&dispatched), bits(&expected), "dispatched: {cols} bytes at {density}");
                    #[cfg(target_arch = "x86_64")]
                    if std::arch::is_x86_feature_detected!("avx2") {
                        let mut avx2 = vec![(0, 0.0); expected.len()];
                        // SAFETY: the CPU has AVX2, and `values` and `avx2` have the same length.
                        unsafe { list_packed_avx2(mask, values, 1.0 / 255.0, &mut avx2) };
                        assert_eq!(bits(&avx2), bits(&expected), "avx2: {cols} bytes at {density}");
                    }
                }
            }
        }
    }

    /// Strips of `B` read from a packed copy give the bits of strips read in place, for the
    /// shapes of both first-layer products (`B` = `W₁`, and `B` = `dZ₁` with few rows).
    #[test]
    fn packed_strips_give_the_bits_of_strips_read_in_place() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // Wide products, and narrow ones whose last strip is padded (10 = one padded strip of 16,
        // 100 = 64 + 16 + 16 + 4, 64 = one strip not packed).
        let shapes = [(128, 784, 256), (784, 128, 256), (50, 300, 200), (784, 1, 130), (3, 9, 65)];
        let narrow = [(100, 784, 10), (128, 784, 1), (60, 200, 100), (40, 100, 64), (30, 300, 17)];
        for &(m, k, n) in shapes.iter().chain(&narrow) {
            let x = sparse_random(m, k, 0.2, &mut rng);
            let b = Matrix::from_vec(k, n, (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect());
            let bias: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut a = Csr::default();
            a.fill_from_dense(&x);
            for bias in [None, Some(&bias[..])] {
                let product = |pack: bool| {
                    let mut c = Matrix::zeros(m, n);
                    // SAFETY: `c` is `m × n`, the whole block, and this thread's alone.
                    unsafe { kernel::block(&a, &b, bias, c.data.as_mut_ptr(), 0..m, 0..n, pack) };
                    c
                };
                assert_eq!(product(true), product(false), "{m}×{k}×{n}");
            }
        }
    }

    /// Every instruction set the kernels are compiled for and this CPU runs gives the same bits
    /// as the others with a fused multiply-add (on x86-64 with AVX-512: the AVX-512 and AVX2
    /// kernels), and the baseline without one stays within rounding of them — for both kernels,
    /// with and without packing, on wide, narrow and padded shapes.
    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let isas: Vec<kernel::Isa> = kernel::Isa::ALL.into_iter().filter(|isa| isa.runs_here()).collect();
        let fma = |isa: kernel::Isa| isa != kernel::Isa::Baseline || cfg!(target_arch = "aarch64");
        let close = |x: &Matrix, y: &Matrix| x.data.iter().zip(&y.data).all(|(p, q)| (p - q).abs() <= 1e-4 * (1.0 + q.abs()));
        for &(m, k, n) in &[(128, 784, 256), (100, 784, 10), (60, 200, 100), (30, 300, 17), (784, 128, 65), (5, 7, 3)] {
            let x = sparse_random(m, k, 0.2, &mut rng);
            let b = Matrix::from_vec(k, n, (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect());
            let bias: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let dz = Matrix::from_vec(m, n, (0..m * n).map(|_| rng.random_range(-1.0..1.0)).collect());
            let mut a = Csr::default();
            a.fill_from_dense(&x);
            for pack in [false, true] {
                let products: Vec<(kernel::Isa, Matrix, Matrix)> = isas
                    .iter()
                    .map(|&isa| {
                        let (mut c, mut t) = (Matrix::zeros(m, n), Matrix::zeros(k, n));
                        // SAFETY: `isa` runs here; `c` (`m × n`) and `t` (`k × n`) are the whole
                        // outputs and this thread's alone.
                        unsafe {
                            kernel::block_on(isa, &a, &b, Some(&bias), c.data.as_mut_ptr(), 0..m, 0..n, pack);
                            kernel::scatter_on(isa, &a, &dz, t.data.as_mut_ptr(), 0..k);
                        }
                        (isa, c, t)
                    })
                    .collect();
                let (first, c0, t0) = &products[0];
                for (isa, c, t) in &products[1..] {
                    if fma(*isa) && fma(*first) {
                        assert_eq!((c, t), (c0, t0), "{isa:?} against {first:?}, {m}×{k}×{n}, pack {pack}");
                    } else {
                        assert!(close(c, c0) && close(t, t0), "{isa:?} against {first:?}, {m}×{k}×{n}, pack {pack}");
                    }
                }
            }
        }
    }

    /// A strip of `B` too large for one pass ([`kernel`]'s `BLOCK_OF_B`) is read in passes over
    /// blocks of its rows; every element still sums its entries in pairs from the start of its
    /// row, `acc += v₁·B[k₁] + v₀·B[k₀]` (one multiply-add), then the odd one last: exactly the
    /// bits of that definition, for strips of 64, 16 and 1 columns, packed and not, whatever
    /// rows end mid-pair at a block's edge.
    #[test]
    fn passes_over_blocks_of_b_keep_the_order_of_the_sums() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
        let isa = kernel::Isa::best();
        let fma = isa != kernel::Isa::Baseline || cfg!(target_arch = "aarch64");
        // 784 and 5000 rows of `B`: 2 and 10 passes over a strip of 64 columns, 1 and 3 over one of 16.
        for &(m, k, n) in &[(128, 784, 256), (37, 5000, 81), (9, 5000, 10)] {
            let x = sparse_random(m, k, 0.2, &mut rng);
            let b = Matrix::from_vec(k, n, (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect());
            let bias: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut a = Csr::default();
            a.fill_from_dense(&x);
            let mut expected = Matrix::zeros(m, n);
            for i in 0..m {
                let row = a.row(i);
                for (j, &start) in bias.iter().enumerate() {
                    let term = |e: usize| (row[e].1, b.row(row[e].0 as usize)[j]);
                    let mut acc = start;
                    for e in (0..row.len().saturating_sub(1)).step_by(2) {
                        let ((v0, b0), (v1, b1)) = (term(e), term(e + 1));
                        acc += if fma { v1.mul_add(b1, v0 * b0) } else { v0 * b0 + v1 * b1 };
                    }
                    if row.len() % 2 == 1 {
                        let (v, w) = term(row.len() - 1);
                        acc = if fma { v.mul_add(w, acc) } else { acc + v * w };
                    }
                    expected.data[i * n + j] = acc;
                }
            }
            for pack in [false, true] {
                let mut c = Matrix::zeros(m, n);
                // SAFETY: `isa` runs here; `c` is the whole `m × n` output, this thread's alone.
                unsafe { kernel::block_on(isa, &a, &b, Some(&bias), c.data.as_mut_ptr(), 0..m, 0..n, pack) };
                assert!(c.data.iter().zip(&expected.data).all(|(p, q)| p.to_bits() == q.to_bits()), "{m}×{k}×{n}, pack {pack}");
            }
        }
    }

    #[test]
    fn scattered_transposed_product_matches_its_definition_and_the_dense_product() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        // Softmax regression's shape, one column, exactly 16, and widths past one block of 16.
        for &(m, k, n) in &[(100, 784, 10), (128, 784, 1), (37, 53, 16), (50, 300, 33), (1, 1, 1), (0, 4, 4), (9, 0, 3)] {
            for density in [0.0, 0.2, 1.0] {
                let x = sparse_random(m, k, density, &mut rng);
                let b = Matrix::from_vec(m, n, (0..m * n).map(|_| rng.random_range(-1.0..1.0)).collect());
                let mut a = Csr::default();
                a.fill_from_dense(&x);
                let (mut fast, mut slow, mut dense) = (Matrix::default(), Matrix::default(), Matrix::zeros(k, n));
                csr_t_matmul(&a, &b, &mut fast);
                csr_t_matmul_reference(&a, &b, &mut slow);
                crate::gemm::matmul_reference(&x, crate::gemm::Op::T, &b, crate::gemm::Op::N, &mut dense, false);
                for other in [&slow, &dense] {
                    assert_eq!((fast.rows, fast.cols), (other.rows, other.cols), "{m}×{k}×{n}");
                    let worst = fast.data.iter().zip(&other.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
                    assert!(worst <= 1e-5 * (m as f32).sqrt() * 4.0, "{m}×{k}×{n} at {density}: {worst}");
                }
                // Each element sums its terms in the order of the rows, one multiply-add each.
                if m == 100 && density == 0.2 {
                    let (p, j) = (a.entries[0].0 as usize, 3);
                    let exact =
                        (0..m).fold(0.0f32, |s, i| if x.row(i)[p] != 0.0 { x.row(i)[p].mul_add(b.row(i)[j], s) } else { s });
                    assert_eq!(fast.row(p)[j].to_bits(), exact.to_bits());
                }
            }
        }
    }

    #[test]
    fn fast_kernel_matches_reference_and_dense_product() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // Widths that exercise the 64-, 16- and 1-column blocks, on 1 and 2 threads.
        for &(m, k, n) in &[(1, 1, 1), (5, 7, 3), (128, 784, 256), (37, 129, 100), (300, 784, 800), (0, 4, 4)] {
            for density in [0.0, 0.2, 1.0] {
                let x = sparse_random(m, k, density, &mut rng);
                let b = Matrix::from_vec(k, n, (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect());
                let bias: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let mut a = Csr::default();
                a.fill_from_dense(&x);
                for bias in [None, Some(&bias[..])] {
                    let (mut fast, mut slow) = (Matrix::default(), Matrix::default());
                    csr_matmul(&a, &b, bias, &mut fast);
                    csr_matmul_reference(&a, &b, bias, &mut slow);
                    let mut dense = Matrix::zeros(m, n);
                    crate::gemm::matmul_reference(&x, crate::gemm::Op::N, &b, crate::gemm::Op::N, &mut dense, false);
                    for (j, d) in dense.data.iter_mut().enumerate() {
                        *d += bias.map_or(0.0, |bias| bias[j % n]);
                    }
                    for other in [&slow, &dense] {
                        assert_eq!((fast.rows, fast.cols), (other.rows, other.cols));
                        let worst = fast.data.iter().zip(&other.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
                        assert!(worst <= 1e-5 * (k as f32).sqrt() * 4.0, "{m}×{k}×{n} at {density}: {worst}");
                    }
                }
            }
        }
    }
}
