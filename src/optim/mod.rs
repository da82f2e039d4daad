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
pub fn update_parameters(model: &mut Model, grads: &Gradients, state: &mut OptimizerState) {
    state.step += 1;
    let (lr, t) = (state.learning_rate, state.step);
    if state.weight_decay > 0.0 {
        let shrink = 1.0 - lr * state.weight_decay;
        for layer in &mut model.layers {
            let w = &mut layer.weight.data;
            in_parallel(w, &[], &mut [], &mut [], &|p, _, _, _| p.iter_mut().for_each(|v| *v *= shrink));
        }
    }
    let params = model.layers.iter_mut().flat_map(|l| [&mut l.weight.data, &mut l.bias]);
    let grads = grads.layers.iter().flat_map(|g| [&g.weight.data, &g.bias]);
    let mut first = state.first.iter_mut();
    let mut second = state.second.iter_mut();
    let mut empty = (Vec::new(), Vec::new());
    for (param, grad) in params.zip(grads) {
        let m = first.next().unwrap_or(&mut empty.0);
        let v = second.next().unwrap_or(&mut empty.1);
        match state.optimizer {
            Optimizer::Sgd => in_parallel(param, grad, m, v, &|p, g, _, _| sgd::sgd_step(p, g, lr)),
            Optimizer::Momentum { momentum } => {
                in_parallel(param, grad, m, v, &|p, g, m, _| momentum::momentum_step(p, g, m, lr, momentum))
            }
            Optimizer::Adam { beta1, beta2, eps } => {
                in_parallel(param, grad, m, v, &|p, g, m, v| adam::adam_step(p, g, m, v, t, lr, beta1, beta2, eps))
            }
        }
    }
}

/// Matching pieces of a parameter, its gradient and two state buffers.
type Piece<'a> = (&'a mut [f32], &'a [f32], &'a mut [f32], &'a mut [f32]);

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
    // Cut every buffer at the same places (empty state buffers stay empty); each piece goes to
    // one thread, behind an uncontended lock: the safe way to hand a `&mut` slice to exactly
    // one other thread.
    // (The slots are on the stack: no allocation in the training step.)
    let mut pieces: crate::parallel::Pieces<std::sync::Mutex<Piece>> = std::array::from_fn(|_| None);
    let mut count = 0;
    let (mut p, mut g, mut m, mut v) = (param, grad, m, v);
    while !p.is_empty() {
        let cut = chunk.min(p.len());
        let (p0, p1) = p.split_at_mut(cut);
        let (g0, g1) = g.split_at(if g.is_empty() { 0 } else { cut });
        let (m0, m1) = m.split_at_mut(if m.is_empty() { 0 } else { cut });
        let (v0, v1) = v.split_at_mut(if v.is_empty() { 0 } else { cut });
        pieces[count] = Some(std::sync::Mutex::new((p0, g0, m0, v0)));
        count += 1;
        (p, g, m, v) = (p1, g1, m1, v1);
    }
    crate::parallel::run(count, &|i| {
        let mut guard = pieces[i].as_ref().unwrap().lock().unwrap();
        let (p, g, m, v) = &mut *guard;
        rule(p, g, m, v);
    });
}
