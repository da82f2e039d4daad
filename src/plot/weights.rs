//! First-layer weight images (seed, Exercise 1.3.2). Unit `j` of the first layer computes
//! `z_j = Σ_p x_p·W[p][j] + b_j`: column `j` of `W` is a template over the pixels. Shown as an
//! image, red pixels push `z_j` down when lit, blue ones push it up, white ones don't matter.
//! For the one-layer model the ten templates look like blurry digits.

use ffnn::error::Result;
use ffnn::nn::Model;
use std::path::Path;

/// Screen pixels per input pixel, and the gap between tiles.
const SCALE: usize = 4;
const GAP: usize = 4;

/// The grid image of the first `max_tiles` units' weights: `(width, height, RGB pixels)`.
/// Each tile is scaled to its own largest `|w|`, with the diverging red-white-blue colormap
/// centred on 0.
pub fn weight_image(model: &Model, max_tiles: usize) -> (usize, usize, Vec<u8>) {
    let layer = &model.layers[0];
    let (h, w) = model.input_shape;
    let tiles = layer.outputs().min(max_tiles);
    let cols = if tiles <= 10 { tiles.div_ceil(2).max(1) } else { (tiles as f64).sqrt().ceil() as usize };
    let rows = tiles.div_ceil(cols);
    let (tile_w, tile_h) = (w * SCALE, h * SCALE);
    let width = cols * tile_w + (cols + 1) * GAP;
    let height = rows * tile_h + (rows + 1) * GAP;
    let mut rgb = vec![255u8; width * height * 3];
    for unit in 0..tiles {
        let column: Vec<f32> = (0..layer.inputs()).map(|p| layer.weight.data[p * layer.outputs() + unit]).collect();
        let scale = column.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        let (ox, oy) = (GAP + (unit % cols) * (tile_w + GAP), GAP + (unit / cols) * (tile_h + GAP));
        for py in 0..tile_h {
            for px in 0..tile_w {
                let v = column[(py / SCALE) * w + px / SCALE] / scale;
                // RED_BLUE runs from red (0) through white (0.5) to blue (1).
                let c = colorous::RED_BLUE.eval_continuous(0.5 + 0.5 * v as f64);
                let i = ((oy + py) * width + ox + px) * 3;
                rgb[i..i + 3].copy_from_slice(&[c.r, c.g, c.b]);
            }
        }
    }
    (width, height, rgb)
}

/// Writes the weight grid as a PNG: 10 tiles for the one-layer model, the first 64 otherwise.
pub fn write_weight_image(model: &Model, path: &Path) -> Result<()> {
    let (w, h, rgb) = weight_image(model, 64);
    ffnn::data::image::write_png(path, w, h, 3, &rgb)
}
