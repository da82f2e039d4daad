//! `update_parameters`: one optimizer step over every weight and bias.
//!
//! Each rule works on a flat slice of parameters and the matching slice of gradients, so the
//! same code updates `W` and `b` of every layer:
//!
//! | file | rule |
//! |---|---|
//! | `sgd.rs` | `θ ← θ − α·g` |
//! | `momentum.rs` | `v ← μ·v + g`, `θ ← θ − α·v` |
//! | `adam.rs` | bias-corrected first and second moments (Kingma & Ba 2015) |

pub mod adam;
pub mod momentum;
pub mod sgd;

use crate::nn::{Gradients, Model};
use serde::{Deserialize, Serialize};

/// Which update rule, with its hyper-parameters (the learning rate is kept apart, in [`OptimizerState`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Optimizer {
    /// Plain mini-batch gradient descent.
    Sgd,
    /// Gradient descent with (heavy-ball) momentum `μ`, as `torch.optim.SGD(momentum=μ)`.
    Momentum { momentum: f32 },
    /// Adam, as `torch.optim.Adam`.
    Adam { beta1: f32, beta2: f32, eps: f32 },
}

impl Optimizer {
    /// Adam with the usual defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub fn adam() -> Optimizer {
        Optimizer::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }

    /// `sgd`, `momentum` or `adam`.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum { .. } => "momentum",
            Optimizer::Adam { .. } => "adam",
        }
    }
}

/// Everything an optimizer carries from step to step: the learning rate, the step count `t`,
/// and one or two moment buffers per parameter tensor, in the order `W₁, b₁, W₂, b₂, …`.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    pub optimizer: Optimizer,
    pub learning_rate: f32,
    pub step: u64,
    /// Momentum's velocity `v`, or Adam's first moment `m`.
    pub first: Vec<Vec<f32>>,
    /// Adam's second moment `v`.
    pub second: Vec<Vec<f32>>,
}

impl OptimizerState {
    /// Zeroed state for `model`.
    pub fn new(optimizer: Optimizer, learning_rate: f32, model: &Model) -> OptimizerState {
        let zeros = || -> Vec<Vec<f32>> {
            model.layers.iter().flat_map(|l| [vec![0.0; l.weight.data.len()], vec![0.0; l.bias.len()]]).collect()
        };
        let (first, second) = match optimizer {
            Optimizer::Sgd => (vec![], vec![]),
            Optimizer::Momentum { .. } => (zeros(), vec![]),
            Optimizer::Adam { .. } => (zeros(), zeros()),
        };
        OptimizerState { optimizer, learning_rate, step: 0, first, second }
    }
}

/// One step `θ ← update(θ, dJ/dθ)` for every parameter of `model`, by the rule in `state`.
pub fn update_parameters(model: &mut Model, grads: &Gradients, state: &mut OptimizerState) {
    state.step += 1;
    let lr = state.learning_rate;
    let params = model.layers.iter_mut().flat_map(|l| [&mut l.weight.data, &mut l.bias]);
    let grads = grads.layers.iter().flat_map(|g| [&g.weight.data, &g.bias]);
    for (i, (param, grad)) in params.zip(grads).enumerate() {
        match state.optimizer {
            Optimizer::Sgd => sgd::sgd_step(param, grad, lr),
            Optimizer::Momentum { momentum } => momentum::momentum_step(param, grad, &mut state.first[i], lr, momentum),
            Optimizer::Adam { beta1, beta2, eps } => {
                adam::adam_step(param, grad, &mut state.first[i], &mut state.second[i], state.step, lr, beta1, beta2, eps)
            }
        }
    }
}
