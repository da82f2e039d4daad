//! Named configurations: the seed's exercises and the benchmark's standard configs
//! (`../shared/anchors/README.md`: `softmax`, `mlp`, `wide`).

use super::{Length, TrainConfig};
use crate::nn::{Activation, Init};
use crate::optim::Optimizer;
use serde::Serialize;

/// A named training configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Exercise 1.3: softmax regression 784-10, SGD α = 0.1, batch 100, W ~ N(0, 0.01²), 10 epochs.
    /// The benchmark calls this config `softmax`.
    #[value(alias = "softmax")]
    OneLayer,
    /// Exercise 1.4: 784-256-128-10 ReLU, Adam α = 1e-3, batch 128, PyTorch's init, 20 epochs.
    Mlp,
    /// 784-800-10 ReLU, SGD with momentum 0.9, α = 0.05, batch 128, PyTorch's init, 10 epochs.
    Wide,
}

impl Preset {
    /// The preset's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::OneLayer => "one-layer",
            Preset::Mlp => "mlp",
            Preset::Wide => "wide",
        }
    }

    /// The full configuration.
    pub fn config(self) -> TrainConfig {
        let base = TrainConfig { eval_every: 100, seed: 1, ..TrainConfig::default() };
        match self {
            Preset::OneLayer => TrainConfig {
                hidden: vec![],
                init: Init::Normal { std: 0.01 },
                optimizer: Optimizer::Sgd,
                learning_rate: 0.1,
                batch_size: 100,
                length: Length::Epochs(10),
                ..base
            },
            Preset::Mlp => TrainConfig {
                hidden: vec![256, 128],
                activation: Activation::Relu,
                init: Init::Torch,
                optimizer: Optimizer::adam(),
                learning_rate: 1e-3,
                batch_size: 128,
                length: Length::Epochs(20),
                ..base
            },
            Preset::Wide => TrainConfig {
                hidden: vec![800],
                activation: Activation::Relu,
                init: Init::Torch,
                optimizer: Optimizer::Momentum { momentum: 0.9 },
                learning_rate: 0.05,
                batch_size: 128,
                length: Length::Epochs(10),
                ..base
            },
        }
    }
}
