//! On-the-fly augmentation of a mini-batch: every image is moved by a random affine map
//! (rotation, scale, shear, translation) and, optionally, an elastic distortion (Simard et al.
//! 2003: a random displacement field, smoothed by a Gaussian of width `σ` and scaled by `α`),
//! then resampled bilinearly. The network never sees the same image twice, which is worth
//! more than any regularizer on MNIST.
//!
//! Vectorized over the batch: the displacement fields of all images are smoothed by two
//! matrix products with a Gaussian matrix `G` (`G[i][j] = g(i − j)`, so `F·G` blurs each row of
//! a field and `Gᵀ·F` each column), and the resampling is split between the threads, each
//! resampling eight pixels at a time with AVX2 (the bits of one at a time). Every
//! random draw comes from a stream seeded by (run seed, iteration, row), so a run is the same
//! whatever the thread count.

use crate::gemm::{Op, matmul};
use crate::tensor::Matrix;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// How much to distort. Angles in degrees, translation in pixels, scale and shear as ± ranges.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Rotation drawn from `±rotation` degrees.
    pub rotation: f32,
    /// Scale drawn from `1 ± scale`.
    pub scale: f32,
    /// Shear angle drawn from `±shear` degrees.
    pub shear: f32,
    /// Translation drawn from `±translate` pixels along each axis.
    pub translate: f32,
    /// Elastic distortion strength `α` (pixels; 0 = none).
    pub elastic_alpha: f32,
    /// Elastic smoothing width `σ` (pixels).
    pub elastic_sigma: f32,
}

impl Default for Augment {
    /// Moderate distortions for MNIST: ±12°, ±10% scale, ±10° shear, ±2.5 px, elastic α = 34, σ = 6.
    fn default() -> Self {
        Augment { rotation: 12.0, scale: 0.10, shear: 10.0, translate: 2.5, elastic_alpha: 34.0, elastic_sigma: 6.0 }
    }
}

/// Buffers for augmenting batches of one image size, kept from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct Augmenter {
    source: Matrix,
    noise: Matrix,
    blurred: Matrix,
    transposed: Matrix,
    gauss_w: Matrix,
    gauss_h: Matrix,
    sigma: f32,
}

/// `G[i][j] = exp(−(i − j)²/2σ²) / Σ_k exp(−k²/2σ²)`: blurring with zeros beyond the border.
fn gaussian_matrix(n: usize, sigma: f32) -> Matrix {
    let g = |d: f32| (-(d * d) / (2.0 * sigma * sigma)).exp();
    let radius = (4.0 * sigma).ceil() as i64;
    let norm: f32 = (-radius..=radius).map(|k| g(k as f32)).sum();
    let mut m = Matrix::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            m.data[i * n + j] = g(i as f32 - j as f32) / norm;
        }
    }
    m
}

/// The random stream of one image of one step.
fn image_rng(seed: u64, iteration: usize, row: usize) -> rand_chacha::ChaCha8Rng {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (iteration as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(1 + row as u64);
    rng
}

impl Augmenter {
    /// Distorts every row of `x` (a batch of `height × width` images, values in [0, 1]) in place.
    pub fn apply(&mut self, x: &mut Matrix, height: usize, width: usize, aug: &Augment, seed: u64, iteration: usize) {
        let (n, pixels) = (x.rows, height * width);
        assert_eq!(x.cols, pixels);
        std::mem::swap(&mut self.source, x);
        x.reshape(n, pixels);
        let elastic = aug.elastic_alpha > 0.0 && aug.elastic_sigma > 0.0;
        if elastic {
            if self.sigma != aug.elastic_sigma || self.gauss_w.rows != width || self.gauss_h.rows != height {
                self.gauss_w = gaussian_matrix(width, aug.elastic_sigma);
                self.gauss_h = gaussian_matrix(height, aug.elastic_sigma);
                self.sigma = aug.elastic_sigma;
            }
            // Uniform noise in [−1, 1]: two fields (Δrow, Δcol) per image, each `height` rows of
            // `width`, stacked: (2·n·height) × width.
            self.noise.reshape(2 * n * height, width);
            crate::parallel::for_each_chunk_mut(&mut self.noise.data, 2 * pixels, 8, &|first, fields| {
                for (k, pair) in fields.chunks_mut(2 * pixels).enumerate() {
                    let mut rng = image_rng(seed, iteration, first + k);
                    rng.set_word_pos(1 << 20); // after the affine draws
                    pair.iter_mut().for_each(|v| *v = rng.random_range(-1.0..1.0));
                }
            });
            // Blur along each row of every field: F·G_w.
            self.blurred.reshape(2 * n * height, width);
            matmul(&self.noise, Op::N, &self.gauss_w, Op::N, &mut self.blurred, false);
            // Along each column: transpose every field, blur its rows by G_h, keep it transposed.
            self.transposed.reshape(2 * n * width, height);
            let blurred = &self.blurred;
            crate::parallel::for_each_chunk_mut(&mut self.transposed.data, pixels, 16, &|first, fields| {
                for (f, dst) in (first..).zip(fields.chunks_mut(pixels)) {
                    let src = &blurred.data[f * pixels..(f + 1) * pixels];
                    for r in 0..height {
                        for c in 0..width {
                            dst[c * height + r] = src[r * width + c];
                        }
                    }
                }
            });
            self.noise.reshape(2 * n * width, height);
            matmul(&self.transposed, Op::N, &self.gauss_h, Op::N, &mut self.noise, false);
            // `noise` now holds the smoothed fields, each stored transposed (column-major).
        }
        let fields = &self.noise;
        let source = &self.source;
        crate::parallel::for_each_chunk_mut(&mut x.data, pixels, 8, &|first, rows| {
            for (k, out) in rows.chunks_mut(pixels).enumerate() {
                let row = first + k;
                let mut rng = image_rng(seed, iteration, row);
                let mut draw = |range: f32| if range > 0.0 { rng.random_range(-range..range) } else { 0.0 };
                let angle = draw(aug.rotation).to_radians();
                let scale = 1.0 + draw(aug.scale);
                let shear = draw(aug.shear).to_radians();
                let (ty, tx) = (draw(aug.translate), draw(aug.translate));
                // Forward map M = rotation · shear · scale on (x, y) about the centre; each output
                // pixel reads the source at M⁻¹·(p − c − t) + c.
                let (sin, cos) = angle.sin_cos();
                let (m00, m01, m10, m11) =
                    (scale * cos, scale * (cos * shear.tan() - sin), scale * sin, scale * (sin * shear.tan() + cos));
                let det = m00 * m11 - m01 * m10;
                let map = Warp {
                    inverse: [m11 / det, -m01 / det, -m10 / det, m00 / det],
                    shift: (tx, ty),
                    alpha: aug.elastic_alpha,
                    field: elastic.then(|| &fields.data[2 * row * pixels..2 * (row + 1) * pixels]),
                };
                resample(source.row(row), height, width, &map, out);
            }
        });
    }
}

/// Where each output pixel of one image reads its source: `M⁻¹·(p − c − t) + c`, plus `α` times
/// the image's smoothed displacement field at `p`.
struct Warp<'a> {
    /// `M⁻¹` as `[i00, i01, i10, i11]`: `x' = i00·x + i01·y`, `y' = i10·x + i11·y`.
    inverse: [f32; 4],
    /// The translation `t` as `(x, y)`, pixels.
    shift: (f32, f32),
    /// The elastic strength `α`, pixels.
    alpha: f32,
    /// The displacement fields `Δrow` then `Δcol`, each `height × width` stored transposed
    /// (column-major: pixel `(r, c)` at `c·height + r`), or `None` without elastic distortion.
    field: Option<&'a [f32]>,
}

/// Resamples `image` (`height × width`) through `map` into `out`: every output pixel is the
/// source, [`bilinear`]ly interpolated, at the position `map` gives it. With AVX2, eight
/// pixels of a row at a time ([`resample_avx2`], the same bits); else one at a time by
/// [`resample_pixel`], the reference a test compares it with.
fn resample(image: &[f32], height: usize, width: usize, map: &Warp, out: &mut [f32]) {
    assert_eq!((image.len(), out.len()), (height * width, height * width), "resample: not a {height}×{width} image");
    assert!(map.field.is_none_or(|f| f.len() == 2 * height * width), "resample: not two {height}×{width} fields");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && height * width <= i32::MAX as usize {
        // SAFETY: the CPU has AVX2; the image, the fields and `out` were checked to be
        // `height × width`, at most `i32::MAX` (so every index of a pixel fits an `i32`).
        return unsafe { resample_avx2(image, height, width, map, out) };
    }
    for r in 0..height {
        for c in 0..width {
            out[r * width + c] = resample_pixel(image, height, width, map, r, c);
        }
    }
}

/// The centre `c` of a `height × width` image, `(row, column)`, that the affine map turns about.
fn centre(height: usize, width: usize) -> (f32, f32) {
    ((height as f32 - 1.0) / 2.0, (width as f32 - 1.0) / 2.0)
}

/// Output pixel `(r, c)` of [`resample`], by its definition.
fn resample_pixel(image: &[f32], height: usize, width: usize, map: &Warp, r: usize, c: usize) -> f32 {
    let [i00, i01, i10, i11] = map.inverse;
    let (cy, cx) = centre(height, width);
    let (px, py) = (c as f32 - cx - map.shift.0, r as f32 - cy - map.shift.1);
    let mut sx = i00 * px + i01 * py + cx;
    let mut sy = i10 * px + i11 * py + cy;
    if let Some(f) = map.field {
        let pixels = height * width;
        sy += map.alpha * f[c * height + r];
        sx += map.alpha * f[pixels + c * height + r];
    }
    bilinear(image, height, width, sy, sx)
}

/// [`resample`] with AVX2: eight neighbouring pixels of a row at a time (the last group of a
/// row masked to the pixels there are), each step of [`resample_pixel`] and [`bilinear`] done on
/// eight lanes in the same order — multiplies and adds kept apart, never fused, so the bits are
/// the same. The four neighbours and the two displacements are read by masked gathers (a
/// neighbour outside the image is 0).
///
/// # Safety
///
/// The CPU must have AVX2; `image` and `out` hold `height × width` values and `map.field`, when
/// given, two fields of as many; `height × width ≤ i32::MAX`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn resample_avx2(image: &[f32], height: usize, width: usize, map: &Warp, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let [i00, i01, i10, i11] = map.inverse.map(|v| _mm256_set1_ps(v));
    let (cy, cx) = centre(height, width);
    let (cx_lanes, cy_lanes) = (_mm256_set1_ps(cx), _mm256_set1_ps(cy));
    let (tx, ty) = (_mm256_set1_ps(map.shift.0), _mm256_set1_ps(map.shift.1));
    let alpha = _mm256_set1_ps(map.alpha);
    let one = _mm256_set1_ps(1.0);
    let (h, w) = (_mm256_set1_epi32(height as i32), _mm256_set1_epi32(width as i32));
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // `⌊v⌋` as in `bilinear`: clamped to [−2, 10⁶], truncated, one less where that rounded up.
    let floor = |v: __m256| {
        let v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-2.0)), _mm256_set1_ps(1e6));
        let t = _mm256_cvttps_epi32(v);
        // The comparison's lanes are all ones (−1 as an integer) where `t > v`.
        _mm256_add_epi32(t, _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_cvtepi32_ps(t), v)))
    };
    // The values of `from` at `index` in the lanes of `mask`, 0 in the others.
    let gather = |from: &[f32], index: __m256i, mask: __m256i| {
        // SAFETY: every caller's masked lanes index within `from` (see each call).
        unsafe { _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), from.as_ptr(), index, _mm256_castsi256_ps(mask)) }
    };
    // The pixels at (rows, cols) in the lanes of `valid`, 0 outside the image.
    let at = |rows: __m256i, cols: __m256i, valid: __m256i| {
        let inside = _mm256_and_si256(
            _mm256_and_si256(_mm256_cmpgt_epi32(rows, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(h, rows)),
            _mm256_and_si256(_mm256_cmpgt_epi32(cols, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(w, cols)),
        );
        // Inside the image: `row · width + col < height × width`.
        gather(image, _mm256_add_epi32(_mm256_mullo_epi32(rows, w), cols), _mm256_and_si256(inside, valid))
    };
    for r in 0..height {
        let py = _mm256_sub_ps(_mm256_sub_ps(_mm256_set1_ps(r as f32), cy_lanes), ty);
        for c in (0..width).step_by(8) {
            let cols = _mm256_add_epi32(_mm256_set1_epi32(c as i32), lane);
            // The lanes of pixels in the row: columns below `width`.
            let valid = _mm256_cmpgt_epi32(w, cols);
            let px = _mm256_sub_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(cols), cx_lanes), tx);
            let mut sx = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(i00, px), _mm256_mul_ps(i01, py)), cx_lanes);
            let mut sy = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(i10, px), _mm256_mul_ps(i11, py)), cy_lanes);
            if let Some(f) = map.field {
                // Pixel (r, col) of a transposed field is at `col · height + r`, within each
                // field for the valid lanes; the second field follows the first.
                let index = _mm256_add_epi32(_mm256_mullo_epi32(cols, h), _mm256_set1_epi32(r as i32));
                let (dy, dx) = (gather(f, index, valid), gather(&f[height * width..], index, valid));
                sy = _mm256_add_ps(sy, _mm256_mul_ps(alpha, dy));
                sx = _mm256_add_ps(sx, _mm256_mul_ps(alpha, dx));
            }
            let (y0, x0) = (floor(sy), floor(sx));
            let fy = _mm256_sub_ps(sy, _mm256_cvtepi32_ps(y0));
            let fx = _mm256_sub_ps(sx, _mm256_cvtepi32_ps(x0));
            let (y1, x1) = (_mm256_add_epi32(y0, _mm256_set1_epi32(1)), _mm256_add_epi32(x0, _mm256_set1_epi32(1)));
            let (gx, gy) = (_mm256_sub_ps(one, fx), _mm256_sub_ps(one, fy));
            let top = _mm256_add_ps(_mm256_mul_ps(gx, at(y0, x0, valid)), _mm256_mul_ps(fx, at(y0, x1, valid)));
            let bottom = _mm256_add_ps(_mm256_mul_ps(gx, at(y1, x0, valid)), _mm256_mul_ps(fx, at(y1, x1, valid)));
            let value = _mm256_add_ps(_mm256_mul_ps(gy, top), _mm256_mul_ps(fy, bottom));
            // SAFETY: the valid lanes are pixels `r · width + c ..` of this row, within `out`.
            unsafe { _mm256_maskstore_ps(out[r * width + c..].as_mut_ptr(), valid, value) };
        }
    }
}

/// The image at a fractional position, interpolated between its four neighbours; 0 outside.
fn bilinear(image: &[f32], height: usize, width: usize, y: f32, x: f32) -> f32 {
    // ⌊v⌋ without a libm call (positions far outside the image are clamped first).
    let floor = |v: f32| {
        let v = v.clamp(-2.0, 1e6);
        let t = v as i32;
        t - i32::from((t as f32) > v)
    };
    let (y0, x0) = (floor(y), floor(x));
    let (fy, fx) = (y - y0 as f32, x - x0 as f32);
    let at = |r: i32, c: i32| -> f32 {
        if r < 0 || c < 0 || r >= height as i32 || c >= width as i32 { 0.0 } else { image[r as usize * width + c as usize] }
    };
    (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1.0 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Matrix {
        let mut x = Matrix::zeros(3, 64);
        for r in 0..3 {
            for i in 2..6 {
                x.data[r * 64 + i * 8 + 3] = 1.0; // a vertical bar
            }
        }
        x
    }

    #[test]
    fn no_distortion_is_the_identity() {
        let mut x = batch();
        let none = Augment { rotation: 0.0, scale: 0.0, shear: 0.0, translate: 0.0, elastic_alpha: 0.0, elastic_sigma: 0.0 };
        Augmenter::default().apply(&mut x, 8, 8, &none, 1, 0);
        assert_eq!(x, batch());
    }

    #[test]
    fn a_translation_moves_the_image() {
        // translate ±1.0 px: draws in (−1, 1); check the ink moved but was kept.
        let mut x = batch();
        let shift = Augment { rotation: 0.0, scale: 0.0, shear: 0.0, translate: 1.0, elastic_alpha: 0.0, elastic_sigma: 0.0 };
        Augmenter::default().apply(&mut x, 8, 8, &shift, 3, 5);
        assert_ne!(x, batch());
        let ink: f32 = x.row(0).iter().sum();
        assert!((ink - 4.0).abs() < 0.5, "ink {ink}");
    }

    #[test]
    fn deterministic_and_independent_of_threads() {
        let aug = Augment::default();
        let mut a = batch();
        crate::parallel::set_threads(1);
        Augmenter::default().apply(&mut a, 8, 8, &aug, 7, 3);
        let mut b = batch();
        crate::parallel::set_threads(2);
        Augmenter::default().apply(&mut b, 8, 8, &aug, 7, 3);
        assert_eq!(a, b);
        let mut c = batch();
        Augmenter::default().apply(&mut c, 8, 8, &aug, 7, 4);
        assert_ne!(a, c, "another iteration, other distortions");
        assert!(a.data.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    /// [`resample`] by its definition, one pixel at a time.
    fn resample_reference(image: &[f32], height: usize, width: usize, map: &Warp) -> Vec<f32> {
        let cells = (0..height).flat_map(|r| (0..width).map(move |c| (r, c)));
        cells.map(|(r, c)| resample_pixel(image, height, width, map, r, c)).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// The AVX2 resampler gives the bits of the per-pixel definition on any image size
        /// (rows shorter than eight pixels, and not a multiple of eight), any map (positions
        /// inside, astride and far outside the image) and with or without displacement fields.
        #[test]
        fn resampling_eight_pixels_at_a_time_gives_the_same_bits(
            height in 1usize..=40,
            width in 1usize..=40,
            inverse in proptest::array::uniform4(-3.0f32..3.0),
            shift in (-50.0f32..50.0, -50.0f32..50.0),
            alpha in proptest::prop_oneof![proptest::strategy::Just(0.0f32), 0.0f32..40.0],
            elastic in proptest::bool::ANY,
            seed in proptest::num::u64::ANY,
        ) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let pixels = height * width;
            let image: Vec<f32> = (0..pixels).map(|_| if rng.random_bool(0.3) { rng.random_range(0.0..1.0) } else { 0.0 }).collect();
            let field: Vec<f32> = (0..2 * pixels).map(|_| rng.random_range(-1.0..1.0)).collect();
            let map = Warp { inverse, shift, alpha, field: elastic.then_some(&field[..]) };
            let mut out = vec![f32::NAN; pixels];
            resample(&image, height, width, &map, &mut out);
            let expected = resample_reference(&image, height, width, &map);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&out), bits(&expected));
        }
    }

    #[test]
    fn the_identity_map_resamples_the_image_itself() {
        let (height, width) = (5, 11);
        let image: Vec<f32> = (0..height * width).map(|i| i as f32 / 55.0).collect();
        let map = Warp { inverse: [1.0, 0.0, 0.0, 1.0], shift: (0.0, 0.0), alpha: 0.0, field: None };
        let mut out = vec![0.0; height * width];
        resample(&image, height, width, &map, &mut out);
        assert_eq!(out, image);
        // Shifted right by one pixel: each row moves over, a zero column comes in on the left.
        let shifted = Warp { shift: (1.0, 0.0), ..map };
        resample(&image, height, width, &shifted, &mut out);
        for r in 0..height {
            assert_eq!(out[r * width], 0.0);
            assert_eq!(out[r * width + 1..(r + 1) * width], image[r * width..(r + 1) * width - 1]);
        }
    }

    #[test]
    fn gaussian_rows_sum_to_one_inside() {
        let g = gaussian_matrix(28, 2.0);
        let middle: f32 = g.row(14).iter().sum();
        assert!((middle - 1.0).abs() < 1e-4);
    }
}
