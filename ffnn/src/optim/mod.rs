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
    Momentum {
        /// `μ`, the fraction of the velocity kept from step to step.
        momentum: f32,
    },
    /// Adam, as `torch.optim.Adam`.
    Adam {
        /// `β₁`, the decay of the first moment (mean of the gradients).
        beta1: f32,
        /// `β₂`, the decay of the second moment (mean of their squares).
        beta2: f32,
        /// `ε`, added to `√v̂` so the step never divides by 0.
        eps: f32,
    },
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
    /// The update rule.
    pub optimizer: Optimizer,
    /// The step size `α` of the next step (the schedule sets it every iteration).
    pub learning_rate: f32,
    /// Steps taken, `t` (Adam's bias correction uses it).
    pub step: u64,
    /// Momentum's velocity `v`, or Adam's first moment `m`.
    pub first: Vec<Vec<f32>>,
    /// Adam's second moment `v`.
    pub second: Vec<Vec<f32>>,
    /// Decoupled weight decay `λ` (0: none).
    pub weight_decay: f32,
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
        OptimizerState { optimizer, learning_rate, step: 0, first, second, weight_decay: 0.0 }
    }
}

/// One step `θ ← update(θ, dJ/dθ)` for every parameter of `model`, by the rule in `state`.
///
/// With weight decay `λ`, every weight first shrinks, `W ← (1 − α·λ)·W`, apart from the
/// gradient step ("decoupled", Loshchilov & Hutter 2019: with Adam this is AdamW, which
/// regularizes better than adding `λ‖W‖²` to the loss, whose gradient Adam would rescale).
/// Biases are not decayed.
///
/// ```
/// use rand::SeedableRng;
/// use ffnn::nn::{Activation, Gradients, Init, Model};
/// use ffnn::optim::{Optimizer, OptimizerState, update_parameters};
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let mut model = Model::new(&[2, 2], Activation::Relu, Init::He, &mut rng);
/// let before = model.layers[0].weight.data[0];
/// let mut grads = Gradients::for_model(&model);
/// grads.layers[0].weight.data[0] = 1.0;
/// let mut sgd = OptimizerState::new(Optimizer::Sgd, 0.1, &model);
/// update_parameters(&mut model, &grads, &mut sgd); // θ ← θ − α·g
/// assert_eq!(model.layers[0].weight.data[0], before - 0.1);
/// ```
pub fn update_parameters(model: &mut Model, grads: &Gradients, state: &mut OptimizerState) {
    state.step += 1;
    let (lr, t) = (state.learning_rate, state.step);
    // Decoupled weight decay, folded into each weight's step: W ← (1 − α·λ)·W − step.
    let weight_shrink = 1.0 - lr * state.weight_decay;
    let params = model.layers.iter_mut().flat_map(|l| [(&mut l.weight.data, weight_shrink), (&mut l.bias, 1.0)]);
    let grads = grads.layers.iter().flat_map(|g| [&g.weight.data, &g.bias]);
    let mut first = state.first.iter_mut();
    let mut second = state.second.iter_mut();
    let mut empty = (Vec::new(), Vec::new());
    for ((param, s), grad) in params.zip(grads) {
        let m = first.next().unwrap_or(&mut empty.0);
        let v = second.next().unwrap_or(&mut empty.1);
        match state.optimizer {
            Optimizer::Sgd => in_parallel(param, grad, m, v, &|p, g, _, _| sgd::sgd_step(p, g, lr, s)),
            Optimizer::Momentum { momentum } => {
                in_parallel(param, grad, m, v, &|p, g, m, _| momentum::momentum_step(p, g, m, lr, momentum, s))
            }
            Optimizer::Adam { beta1, beta2, eps } => {
                in_parallel(param, grad, m, v, &|p, g, m, v| adam::adam_step(p, g, m, v, t, lr, beta1, beta2, eps, s))
            }
        }
    }
}

/// A rule applied to matching pieces of a parameter, its gradient and up to two state buffers.
type Rule<'a> = dyn Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) + Sync + 'a;

/// Applies `rule` to one contiguous piece of the buffers per thread. The update is element-wise
/// and limited by memory bandwidth (Adam reads 4 and writes 3 floats per parameter), so two
/// cores with their own caches finish it nearly twice as fast. State buffers may be empty
/// (plain SGD keeps none).
fn in_parallel(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], rule: &Rule) {
    const MIN_PER_THREAD: usize = 16 * 1024;
    let threads = crate::parallel::threads().min(param.len().div_ceil(MIN_PER_THREAD)).max(1);
    if threads == 1 {
        return rule(param, grad, m, v);
    }
    let chunk = param.len().div_ceil(threads).next_multiple_of(16);
    // Cut every buffer at the same places (empty state buffers stay empty); each thread gets one piece.
    let pieces = std::iter::from_fn({
        let (mut p, mut g, mut m, mut v) = (param, grad, m, v);
        move || {
            if p.is_empty() {
                return None;
            }
            let cut = chunk.min(p.len());
            let cut_of = |buffer_len: usize| if buffer_len == 0 { 0 } else { cut };
            let (m_cut, v_cut) = (cut_of(m.len()), cut_of(v.len()));
            let (p0, p1) = std::mem::take(&mut p).split_at_mut(cut);
            let (g0, g1) = g.split_at(cut_of(g.len()));
            let (m0, m1) = std::mem::take(&mut m).split_at_mut(m_cut);
            let (v0, v1) = std::mem::take(&mut v).split_at_mut(v_cut);
            (p, g, m, v) = (p1, g1, m1, v1);
            Some((p0, g0, m0, v0))
        }
    });
    crate::parallel::for_each_part(pieces, &|_, (p, g, m, v)| rule(p, g, m, v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Gradients, Init};
    use rand::SeedableRng;

    #[test]
    fn weight_decay_shrinks_weights_but_not_biases() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        // 200 × 100 weights: large enough to be split between threads.
        let model = Model::new(&[200, 100, 3], Activation::Relu, Init::He, &mut rng);
        let mut grads = Gradients::for_model(&model);
        for optimizer in [Optimizer::Sgd, Optimizer::Momentum { momentum: 0.9 }, Optimizer::adam()] {
            let mut decayed = model.clone();
            for layer in &mut decayed.layers {
                layer.bias.fill(0.5);
            }
            let before = decayed.clone();
            let mut state = OptimizerState::new(optimizer, 0.1, &decayed);
            state.weight_decay = 0.2;
            // Zero gradients: the only change is the decay, W ← (1 − α·λ)·W = 0.98·W.
            update_parameters(&mut decayed, &grads, &mut state);
            for (after, start) in decayed.layers.iter().zip(&before.layers) {
                assert!(after.weight.data.iter().zip(&start.weight.data).all(|(a, s)| *a == 0.98 * s), "{optimizer:?}");
                assert!(after.bias.iter().all(|&b| b == 0.5), "{optimizer:?}");
            }
        }
        // With a gradient, the step is the decay plus the optimizer's own step (SGD: −α·g).
        grads.layers[0].weight.data.fill(1.0);
        let mut sgd = model.clone();
        let mut state = OptimizerState::new(Optimizer::Sgd, 0.1, &sgd);
        state.weight_decay = 0.2;
        update_parameters(&mut sgd, &grads, &mut state);
        let w = (model.layers[0].weight.data[7], sgd.layers[0].weight.data[7]);
        assert_eq!(w.1, 0.98 * w.0 - 0.1);
    }
}
