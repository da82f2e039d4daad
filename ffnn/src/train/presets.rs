//! Named configurations: the seed's exercises and the benchmark's standard configs
//! (`../shared/anchors/README.md`: `softmax`, `mlp`, `wide`).

use super::{Length, Schedule, TrainConfig};
use crate::data::augment::Augment;
use crate::nn::{Activation, Init};
use crate::optim::Optimizer;
use serde::Serialize;

/// A named training configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Exercise 1.3: softmax regression 784-10, SGD α = 0.1, batch 100, W ~ N(0, 0.01²), 10 epochs.
    /// The benchmark calls this config `softmax`.
    OneLayer,
    /// Exercise 1.4: 784-512-256-10 ReLU, AdamW α = 2e-3 (λ = 0.1) with a cosine schedule,
    /// dropout 0.1, label smoothing 0.1, batch 128, PyTorch's init, 50 epochs.
    Mlp,
    /// 784-800-10 ReLU, SGD with momentum 0.9, α = 0.05, batch 128, PyTorch's init, 10 epochs.
    Wide,
    /// The most accurate dense network within minutes: 784-800-800-10 ReLU, dropout 0.2,
    /// AdamW (α = 1e-3, λ = 0.05) on cosine with one warm restart (cycles of 34 and 94
    /// epochs), label smoothing 0.05, batch 128, every batch distorted (affine + elastic),
    /// 128 epochs (8–10 minutes on 2 cores; the first cycle ends after 2–2.5).
    Best,
    /// 99% on MNIST within 25 s: `best`'s augmentation and AdamW on one hidden layer of 800
    /// units (Simard et al.'s network), 14 epochs of one-cycle AdamW (α = 3e-3, 20% warm-up),
    /// no dropout (about 20 s on 2 cores).
    BestShort,
    /// The shortest training to 98% on MNIST: 784-256-128-10 ReLU, He init, Adam α = 6e-3 on a
    /// one-cycle schedule (20% warm-up), batch 128, no regularization, 3 epochs (under a second
    /// on 2 cores).
    Fast,
}

impl Preset {
    /// The preset's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::OneLayer => "one-layer",
            Preset::Mlp => "mlp",
            Preset::Wide => "wide",
            Preset::Best => "best",
            Preset::Fast => "fast",
            Preset::BestShort => "best-short",
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
            // Chosen on a 5000-image validation split (`--val 5000`, 20 epochs unless said):
            // constant Adam 97.64%, cosine 97.84%, + label smoothing 98.16%, + weight decay 0.05
            // and dropout 0.1 98.24%; 30 epochs 98.22%, with α = 2e-3 and λ = 0.1 98.34%.
            // Re-checked when the sparse first layer changed the rounding (the 30-epoch preset
            // then ended at 98.49% test accuracy): 30 epochs 98.38%, 40 98.28%, 50 98.48%,
            // dropout 0.2 98.24% (50 epochs 98.18%), α = 3e-3 98.38%, λ = 0.2 98.44%: 50 epochs.
            // Widened for Fashion-MNIST (issue #13), chosen on both datasets' validation splits
            // (`--val 5000`, seeds 1, 2, 3; Fashion-MNIST / MNIST, mean): 256-128 90.89% /
            // 98.63%, 512-256 90.99% / 98.69%, 512-256 for 30 epochs 90.73% / 98.72%. Seed 1
            // only: 512-128 91.12% / 98.40%, 1024-256 91.04% / 98.44%; 256-128 with 100 epochs
            // 91.10% / 98.26%, dropout 0.2 90.58% / 98.06%, λ = 0.2 90.92% / 98.44%, one-cycle
            // 90.88% / 98.46%, He init and dropout 0.2 90.64% / 98.26%, batch 256 (α = 4e-3, 100
            // epochs) 90.94% / 98.20%.
            Preset::Mlp => TrainConfig {
                hidden: vec![512, 256],
                activation: Activation::Relu,
                init: Init::Torch,
                optimizer: Optimizer::adam(),
                learning_rate: 2e-3,
                schedule: Schedule::Cosine { warmup_fraction: 0.0 },
                weight_decay: 0.1,
                dropout: 0.1,
                label_smoothing: 0.1,
                batch_size: 128,
                length: Length::Epochs(50),
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
            // Chosen on a 5000-image validation split (`--val 5000`), every run with this
            // regularization and augmentation, cosine with one restart; final validation
            // accuracy: 1024-1024, cycles of 24 + 48 epochs: 99.30% (end of the first cycle
            // 99.12%); 1024-1024, 20 + 50: 99.18%; 800-800, 22 + 44: 99.16%; 800-800, 36 + 72:
            // 99.40% (end of the first cycle 99.02%); 800-800, 34 + 94: 99.28% (end of the
            // first cycle 99.10%). The split cannot tell the last two apart (±0.1% is six
            // images of 5000).
            // 800-800 trains 1.7× faster per epoch than 1024-1024, so it affords the longer
            // cycles. Their lengths come from the time budget on this project's 2-core machine,
            // whose speed drifts by 30% (3.7–4.9 s per epoch measured): the first cycle ends
            // near 150 s of training, the second uses what is left of 10 minutes. Full runs
            // (test accuracy, measured only): 34 + 85 epochs: 99.39% at the end, 99.3% passed at
            // epoch 27; 32 + 88: the first cycle ended at 99.21% (stopped there); 34 + 94 (this
            // preset): 99.43% at the end, 99.3% passed at epoch 29.
            Preset::Best => TrainConfig {
                hidden: vec![800, 800],
                activation: Activation::Relu,
                init: Init::Torch,
                optimizer: Optimizer::adam(),
                learning_rate: 1e-3,
                schedule: Schedule::Restarts { cycles: 2, multiplier: 2.75, warmup_fraction: 0.1 },
                weight_decay: 0.05,
                dropout: 0.2,
                label_smoothing: 0.05,
                augment: Some(Augment::default()),
                batch_size: 128,
                length: Length::Epochs(128),
                eval_every: 469,
                ..base
            },
            // Chosen on a 5000-image validation split (`--val 5000`), as `best` with a one-cycle
            // schedule (20% warm-up) unless said; final validation accuracy. First on `best`'s
            // 800-800: 6 epochs α = 2e-3 (test only, 98.87%); 10 epochs α = 3e-3 dropout 0.1:
            // 98.96%, test 99.06% at the end, passed 99.0% after epoch 9 (16.8 s on a Zen 5, 33–40 s
            // on the Zen 3 of issue #14's tenth part). Then, for 99% within 25 s on the Zen 3,
            // α = 3e-3, dropout 0.1 unless said: 800, 12 epochs 98.74%; 14 98.66%; 16 98.94% (27 s);
            // 14 dropout 0.2 98.64%; 14 α = 5e-3 98.66%; 14 no dropout 98.82%; 12 no dropout
            // 98.84%; 1024 12 epochs 98.82%, 10 98.76%; 1200 10 98.74%; 512-512, 800-256,
            // 1024-256 10 epochs 98.68–98.88% (25–29 s: too slow). Seeds 2 and 3, 800 for 14
            // epochs: no dropout 98.86% / 99.12%, dropout 0.1 98.70% / 99.02%. So 800 units, no
            // dropout, 14 epochs (12 ties with it on the split; 16 would end after 25 s).
            Preset::BestShort => TrainConfig {
                hidden: vec![800],
                schedule: Schedule::OneCycle { warmup_fraction: 0.2 },
                learning_rate: 3e-3,
                dropout: 0.0,
                length: Length::Epochs(14),
                ..Preset::Best.config()
            },
            // Chosen on a 5000-image validation split (`--val 5000`; Adam, one-cycle with 20%
            // warm-up, batch 128, no regularization; validation accuracy, training seconds on 2
            // threads): 256-128 α = 4e-3 3 epochs 97.84% 0.62 s; α = 6e-3 97.86% 0.63 s;
            // α = 8e-3 97.80%; α = 6e-3 2 epochs 97.40% 0.42 s; batch 256 97.74% 0.58 s;
            // 4 epochs 97.86% 0.84 s; 512 α = 6e-3 97.90% 0.82 s; 800 97.82% 0.99 s; 512-256
            // 97.88% 1.41 s. The split's images are harder than the test set's (the test
            // accuracies of the same runs were 0.2–0.5% higher): it ranks, the test set measures.
            Preset::Fast => TrainConfig {
                hidden: vec![256, 128],
                activation: Activation::Relu,
                init: Init::He,
                optimizer: Optimizer::adam(),
                learning_rate: 6e-3,
                schedule: Schedule::OneCycle { warmup_fraction: 0.2 },
                batch_size: 128,
                length: Length::Epochs(3),
                eval_every: 0,
                ..base
            },
        }
    }
}
