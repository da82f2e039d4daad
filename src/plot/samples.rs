//! A grid of input images (rows of a batch matrix), e.g. the augmented samples a network
//! trains on, as a grayscale PNG.

use ffnn::data::Dataset;
use ffnn::data::augment::{Augment, Augmenter};
use ffnn::error::Result;
use ffnn::tensor::Matrix;
use std::path::Path;

/// `augmented.png`: what the network trains on, the first 64 training images distorted as in
/// the first step of a run with `seed`.
pub fn write_augmented_preview(train: &Dataset, augment: &Augment, seed: u64, path: &Path) -> Result<()> {
    let (mut x, mut y) = (Matrix::default(), Vec::new());
    let first: Vec<usize> = (0..train.len().min(64)).collect();
    train.gather(&first, &mut x, &mut y);
    Augmenter::default().apply(&mut x, train.height, train.width, augment, seed, 0);
    write_sample_grid(&x, train.height, train.width, path)
}

/// Writes the rows of `x` (values in [0, 1], `height × width` images) as a square-ish grid,
/// each image scaled 3× with a 2-pixel gap.
pub fn write_sample_grid(x: &Matrix, height: usize, width: usize, path: &Path) -> Result<()> {
    const SCALE: usize = 3;
    const GAP: usize = 2;
    let n = x.rows.max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let (tw, th) = (width * SCALE, height * SCALE);
    let (w, h) = (cols * tw + (cols + 1) * GAP, rows * th + (rows + 1) * GAP);
    let mut px = vec![96u8; w * h];
    for i in 0..x.rows {
        let (ox, oy) = (GAP + (i % cols) * (tw + GAP), GAP + (i / cols) * (th + GAP));
        for y in 0..th {
            for xx in 0..tw {
                let v = x.row(i)[(y / SCALE) * width + xx / SCALE];
                px[(oy + y) * w + ox + xx] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    ffnn::data::image::write_png(path, w, h, 1, &px)
}
