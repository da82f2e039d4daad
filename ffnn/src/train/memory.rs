//! How much memory a training run needs, estimated before anything is allocated, so that a
//! configuration too large for the machine is refused in one line instead of aborting (or
//! swapping) an hour in.

use super::TrainConfig;
use crate::error::{Error, Result};
use crate::optim::Optimizer;

/// Bytes of one value (`f32`).
const F32: f64 = 4.0;
/// Samples evaluated at once by [`super::evaluate`].
const EVAL_CHUNK: f64 = 1000.0;

/// What a run of `config` on images of `inputs` pixels in `classes` classes, with
/// `train_images` training images, holds at its peak, in bytes, besides the dataset itself:
///
/// - parameters `P = Σ_l (in_l + 1)·out_l`: the weights, their gradients and the optimizer's
///   moments (momentum 1, Adam 2), `4·P·(2 + moments)`, plus the two copies a checkpoint file is
///   built from, `8·P·(1 + moments)`;
/// - one mini-batch: the input `X`, its non-zero entries and their transpose (8 bytes each,
///   room for all), the augmentation's buffers, and per layer the outputs and deltas (and
///   dropout masks and masked outputs);
/// - one evaluation chunk of 1000 images: the input, its sparse form and every layer's output;
/// - without augmentation, the training set packed by its non-zero pixels
///   ([`super::packed_training_set`]), at most: [`crate::sparse::MAX_DENSITY`] of the pixels
///   as bytes, a bit per pixel in 64-bit words and a row start per image.
pub fn estimate(config: &TrainConfig, inputs: usize, classes: usize, train_images: usize) -> f64 {
    let mut sizes = vec![inputs as f64];
    sizes.extend(config.hidden.iter().map(|&h| h as f64));
    sizes.push(classes as f64);
    let parameters: f64 = sizes.windows(2).map(|w| (w[0] + 1.0) * w[1]).sum();
    let moments = match config.optimizer {
        Optimizer::Sgd => 0.0,
        Optimizer::Momentum { .. } => 1.0,
        Optimizer::Adam { .. } => 2.0,
    };
    let weights = F32 * parameters * (2.0 + moments) + 2.0 * F32 * parameters * (1.0 + moments);
    let batch = config.batch_size.min(train_images.max(1)) as f64;
    let hidden: f64 = config.hidden.iter().map(|&h| h as f64).sum();
    let outputs = hidden + classes as f64;
    let input = |rows: f64| rows * inputs as f64 * (F32 + 2.0 * 8.0);
    let augment = if config.augment.is_some() { 6.0 * F32 * batch * inputs as f64 } else { 0.0 };
    let dropout = if config.dropout > 0.0 { 2.0 * F32 * batch * hidden } else { 0.0 };
    let step = input(batch) + augment + 2.0 * F32 * batch * outputs + dropout;
    let evaluation = input(EVAL_CHUNK) + 2.0 * F32 * EVAL_CHUNK * outputs;
    let packed = if config.augment.is_none() { packed_size(inputs as f64) * train_images as f64 } else { 0.0 };
    weights + step + evaluation + packed
}

/// The most bytes an image of `pixels` pixels takes packed: its non-zero pixels (at most
/// [`crate::sparse::MAX_DENSITY`] of them when packed), its mask words and its row start.
fn packed_size(pixels: f64) -> f64 {
    (crate::sparse::MAX_DENSITY as f64 * pixels).ceil() + 8.0 * (pixels / 64.0).ceil() + 8.0
}

/// The memory the system can give this process without swapping (`MemAvailable` of
/// `/proc/meminfo`), in bytes; `None` where that is not known.
pub fn available() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Refuses a configuration whose [`estimate`] exceeds `available` bytes with an
/// [`Error::OutOfMemory`] that says how much it needs and how much there is.
pub fn check(config: &TrainConfig, inputs: usize, classes: usize, train_images: usize, available: Option<f64>) -> Result<()> {
    let needed = estimate(config, inputs, classes, train_images);
    match available {
        Some(available) if needed > available => {
            let mut sizes = vec![inputs.to_string()];
            sizes.extend(config.hidden.iter().map(usize::to_string));
            sizes.push(classes.to_string());
            Err(Error::OutOfMemory {
                network: format!(
                    "a {} network with {} and batches of {}",
                    sizes.join("-"),
                    config.optimizer.name(),
                    config.batch_size.min(train_images.max(1))
                ),
                needed,
                available,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_parameters_optimizer_state_and_activations() {
        // 784-256-128-10: P = 785·256 + 257·128 + 129·10 = 235,146 parameters.
        let config =
            TrainConfig { hidden: vec![256, 128], optimizer: Optimizer::adam(), batch_size: 128, ..TrainConfig::default() };
        let p = 235_146.0;
        let weights = 4.0 * p * 4.0 + 8.0 * p * 3.0;
        let step = 128.0 * 784.0 * 20.0 + 2.0 * 4.0 * 128.0 * 394.0;
        let evaluation = 1000.0 * 784.0 * 20.0 + 2.0 * 4.0 * 1000.0 * 394.0;
        // 0.4·784 → 314 bytes, 13 mask words, a row start.
        let packed = 60_000.0 * (314.0 + 8.0 * 13.0 + 8.0);
        assert_eq!(estimate(&config, 784, 10, 60_000), weights + step + evaluation + packed);
        let augmented = TrainConfig { augment: Some(crate::data::augment::Augment::default()), ..config.clone() };
        let augment = 6.0 * 4.0 * 128.0 * 784.0;
        assert_eq!(estimate(&augmented, 784, 10, 60_000), weights + step + augment + evaluation);
        assert!(check(&config, 784, 10, 60_000, Some(1e9)).is_ok());
    }

    #[test]
    fn a_network_too_large_for_the_machine_is_refused_in_one_line() {
        let config =
            TrainConfig { hidden: vec![100_000_000], optimizer: Optimizer::adam(), batch_size: 128, ..TrainConfig::default() };
        // P ≈ 7.95e10: 40·P = 3.18 TB of weights, moments and checkpoint buffers; a batch's
        // outputs and deltas 0.10 TB; an evaluation chunk's 0.80 TB: about 4.1 TB.
        let err = check(&config, 784, 10, 60_000, Some(22.4e9)).unwrap_err().to_string();
        assert_eq!(
            err,
            "a 784-100000000-10 network with adam and batches of 128 needs about 4.1 TB of memory, and this machine has 22.4 GB available"
        );
        assert!(check(&config, 784, 10, 60_000, None).is_ok(), "unknown memory: not refused");
    }
}
