//! The `mlp` preset as it was when issue #11 reorganized the library (784-256-128-10 AdamW,
//! cosine, dropout and label smoothing) still gives the same bits: the SHA-256 of every
//! parameter after 300 steps on the real MNIST, on 1 and on 2 threads, recorded from the code
//! as it was before that change. Speed work that must not change a result (the batch listed
//! straight from the dataset's bytes, Adam's loop) is checked by it.

mod common;

use common::mnist_dir;
use ffnn::data::load_dataset;
use ffnn::nn::{Activation, Init};
use ffnn::optim::Optimizer;
use ffnn::parallel::with_threads;
use ffnn::train::{Length, Schedule, TrainConfig, train_model};
use sha2::{Digest, Sha256};

/// SHA-256 (hex) of the parameters, layer by layer: weights then biases, little-endian f32.
fn parameter_hash(model: &ffnn::nn::Model) -> String {
    let mut hash = Sha256::new();
    for layer in &model.layers {
        for v in layer.weight.data.iter().chain(&layer.bias) {
            hash.update(v.to_le_bytes());
        }
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_mlp_preset_of_issue_11_gives_the_recorded_bits_on_one_and_two_threads() {
    let Some(mnist) = mnist_dir() else { return };
    let data = load_dataset(&mnist).unwrap();
    let config = TrainConfig {
        hidden: vec![256, 128],
        activation: Activation::Relu,
        init: Init::Torch,
        optimizer: Optimizer::adam(),
        learning_rate: 2e-3,
        schedule: Schedule::Cosine { warmup_fraction: 0.0 },
        weight_decay: 0.1,
        dropout: 0.1,
        label_smoothing: 0.1,
        batch_size: 128,
        // 300 steps (the cosine schedule spans them, as in the recorded run).
        length: Length::Iterations(300),
        eval_every: 100,
        seed: 1,
        ..TrainConfig::default()
    };
    let hashes: Vec<String> = [1, 2]
        .iter()
        .map(|&t| {
            with_threads(t, || parameter_hash(&train_model(&data.train, Some(&data.test), &config, &mut |_| {}).unwrap().model))
        })
        .collect();
    assert_eq!(hashes[0], hashes[1], "1 and 2 threads differ");
    assert_eq!(hashes[0], RECORDED);
}

/// Recorded before the workspace split and the refactor of issue #11 (recorded at commit fac37c4).
const RECORDED: &str = "298787a8c5570bc7d99dc63f0f484ccd1285ce0484b0ddf8e61cf7b69205df0d";
