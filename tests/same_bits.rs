//! The default preset gives the same bits as before the library was reorganized (issue #11):
//! the SHA-256 of every parameter after 300 steps on the real MNIST, on 1 and on 2 threads,
//! recorded from the code as it was before the change.

mod common;

use common::mnist_dir;
use ffnn::data::load_dataset;
use ffnn::parallel::with_threads;
use ffnn::train::{Length, Preset, train_model};
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
fn the_default_preset_gives_the_recorded_bits_on_one_and_two_threads() {
    let Some(mnist) = mnist_dir() else { return };
    let data = load_dataset(&mnist).unwrap();
    let mut config = Preset::Mlp.config();
    config.length = Length::Iterations(300);
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
