//! On-the-fly augmentation of a mini-batch: every image is moved by a random affine map
//! (rotation, scale, shear, translation) and, optionally, an elastic distortion (Simard et al.
//! 2003: a random displacement field, smoothed by a Gaussian of width `σ` and scaled by `α`),
//! then resampled bilinearly. The network never sees the same image twice, which is worth
//! more than any regularizer on MNIST.
//!
//! Vectorized over the batch: the displacement fields of all images are smoothed by two
//! matrix products with a Gaussian matrix `G` (`G[i][j] = g(i − j)`, so `F·G` blurs each row of
//! a field and `Gᵀ·F` each column), and the resampling is split between the threads. Every
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
        let (cy, cx) = ((height as f32 - 1.0) / 2.0, (width as f32 - 1.0) / 2.0);
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
                let (i00, i01, i10, i11) = (m11 / det, -m01 / det, -m10 / det, m00 / det);
                let image = source.row(row);
                let field = if elastic { Some(&fields.data[2 * row * pixels..2 * (row + 1) * pixels]) } else { None };
                for r in 0..height {
                    for c in 0..width {
                        let (px, py) = (c as f32 - cx - tx, r as f32 - cy - ty);
                        let mut sx = i00 * px + i01 * py + cx;
                        let mut sy = i10 * px + i11 * py + cy;
                        if let Some(f) = field {
                            // Fields are stored transposed: element (r, c) at c·height + r.
                            sy += aug.elastic_alpha * f[c * height + r];
                            sx += aug.elastic_alpha * f[pixels + c * height + r];
                        }
                        out[r * width + c] = bilinear(image, height, width, sy, sx);
                    }
                }
            }
        });
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

    #[test]
    fn gaussian_rows_sum_to_one_inside() {
        let g = gaussian_matrix(28, 2.0);
        let middle: f32 = g.row(14).iter().sum();
        assert!((middle - 1.0).abs() < 1e-4);
    }
}
