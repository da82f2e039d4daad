//! The network: a stack of dense layers, `model_forward` and `model_backward` over it.
//!
//! With `A₀ = X` (n × p, one sample per row) and `L` layers:
//!
//! forward   `Z_l = A_{l−1}·W_l + b_l`,  `A_l = h(Z_l)` for `l < L`;  logits `Z_L`
//! loss      `J = (1/n) Σ_i [ln Σ_m e^{z_im} − z_{i,y_i}]`
//! backward  `dZ_L = (softmax(Z_L) − Ỹ)/n`, then for `l = L … 1`:
//!           `dW_l = A_{l−1}ᵀ·dZ_l`, `db_l = Σ_rows dZ_l`,
//!           `dA_{l−1} = dZ_l·W_lᵀ`, `dZ_{l−1} = dA_{l−1} ⊙ h'(Z_{l−1})`

use super::activation::{Activation, activation_backward, activation_forward};
use super::init::{Init, Layer, initialize_parameters};
use super::linear::{linear_backward, linear_forward};
use super::loss::{softmax, softmax_cross_entropy_backward};
use crate::tensor::Matrix;
use rand::Rng;

/// A feed-forward classifier: dense layers with one hidden activation, softmax output.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// `layers[l]` maps `A_l` to `Z_{l+1}`; the last one produces the logits.
    pub layers: Vec<Layer>,
    /// The activation after every layer but the last.
    pub activation: Activation,
    /// Height and width of the input images (`height · width` = inputs of the first layer).
    pub input_shape: (usize, usize),
}

impl Model {
    /// A freshly initialized network with layer sizes `sizes` (inputs, hidden…, classes).
    /// The input is taken to be a square image when `sizes[0]` is a square number
    /// (784 → 28 × 28), else one row; set `input_shape` for other images.
    pub fn new(sizes: &[usize], activation: Activation, init: Init, rng: &mut impl Rng) -> Model {
        let side = (sizes[0] as f64).sqrt().round() as usize;
        let input_shape = if side * side == sizes[0] { (side, side) } else { (1, sizes[0]) };
        Model { layers: initialize_parameters(sizes, init, rng), activation, input_shape }
    }

    /// Layer sizes: inputs, each hidden layer, classes.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.layers[0].inputs()];
        sizes.extend(self.layers.iter().map(Layer::outputs));
        sizes
    }

    /// Number of inputs (pixels).
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.layers.last().unwrap().outputs()
    }

    /// Number of trainable parameters, `Σ_l (in_l + 1) · out_l`.
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(|l| l.weight.data.len() + l.bias.len()).sum()
    }

    /// A human-readable architecture, e.g. `784-256-128-10 relu`.
    pub fn describe(&self) -> String {
        let sizes: Vec<String> = self.sizes().iter().map(|s| s.to_string()).collect();
        if self.layers.len() == 1 {
            format!("{} (softmax regression)", sizes.join("-"))
        } else {
            format!("{} {}", sizes.join("-"), self.activation.name())
        }
    }
}

/// What the forward pass keeps for the backward pass (the seed's `model_state`):
/// `outputs[l]` is `A_{l+1}` for hidden layers and the logits `Z_L` for the last.
/// The buffers are reused from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct ModelState {
    pub outputs: Vec<Matrix>,
}

impl ModelState {
    /// The logits `Z_L` of the last forward pass.
    pub fn logits(&self) -> &Matrix {
        self.outputs.last().expect("model_forward has not run")
    }
}

/// The gradients of `J` with respect to every parameter, plus the `dZ` buffers of the backward pass.
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    /// `dW_l` (in × out) and `db_l` (out), shaped like the model's layers.
    pub layers: Vec<Layer>,
    /// `dZ_l` of the last backward pass, one per layer.
    pub deltas: Vec<Matrix>,
}

impl Gradients {
    /// Zero gradients shaped like `model`.
    pub fn for_model(model: &Model) -> Gradients {
        Gradients {
            layers: model
                .layers
                .iter()
                .map(|l| Layer { weight: Matrix::zeros(l.inputs(), l.outputs()), bias: vec![0.0; l.outputs()] })
                .collect(),
            deltas: vec![Matrix::default(); model.layers.len()],
        }
    }
}

/// The forward pass over a whole mini-batch `X` (n × inputs): fills `state` with every
/// layer's output and returns the logits `Z_L` (n × classes).
pub fn model_forward<'s>(model: &Model, x: &Matrix, state: &'s mut ModelState) -> &'s Matrix {
    assert_eq!(x.cols, model.inputs(), "model_forward: {} input columns, the model takes {}", x.cols, model.inputs());
    state.outputs.resize_with(model.layers.len(), Matrix::default);
    let last = model.layers.len() - 1;
    for (l, layer) in model.layers.iter().enumerate() {
        let (done, rest) = state.outputs.split_at_mut(l);
        let input = if l == 0 { x } else { &done[l - 1] };
        let out = &mut rest[0];
        linear_forward(input, &layer.weight, &layer.bias, out);
        if l < last {
            activation_forward(out, model.activation);
        }
    }
    state.logits()
}

/// The backward pass: from the labels `y` and the forward `state` of the same batch `x`,
/// writes `dJ/dW_l` and `dJ/db_l` of every layer into `grads`.
/// Returns the batch's cost `J` and how many of its samples were classified correctly,
/// both by-products of the first step `dZ_L = (softmax(Z_L) − Ỹ)/n`.
pub fn model_backward(model: &Model, x: &Matrix, state: &ModelState, y: &[u8], grads: &mut Gradients) -> (f32, usize) {
    let layers = model.layers.len();
    grads.deltas.resize_with(layers, Matrix::default);
    let (loss, correct) = softmax_cross_entropy_backward(state.logits(), y, &mut grads.deltas[layers - 1]);
    for l in (0..layers).rev() {
        let input = if l == 0 { x } else { &state.outputs[l - 1] };
        let (before, from_l) = grads.deltas.split_at_mut(l);
        let grad = &mut grads.layers[l];
        linear_backward(input, &model.layers[l].weight, &from_l[0], &mut grad.weight, &mut grad.bias, before.last_mut());
        if l > 0 {
            activation_backward(&mut before[l - 1], &state.outputs[l - 1], model.activation);
        }
    }
    (loss, correct)
}

/// Class probabilities `P = softmax(model_forward(X))` and, when labels are given, the
/// accuracy: the fraction of rows whose most probable class is the label.
pub fn predict(model: &Model, x: &Matrix, y: Option<&[u8]>) -> (Matrix, Option<f32>) {
    let mut state = ModelState::default();
    let mut p = Matrix::default();
    softmax(model_forward(model, x, &mut state), &mut p);
    let accuracy = y.map(|y| accuracy(&p, y));
    (p, accuracy)
}

/// Fraction of rows of `scores` (probabilities or logits) whose arg-max equals the label.
pub fn accuracy(scores: &Matrix, y: &[u8]) -> f32 {
    let correct = scores.argmax_rows().iter().zip(y).filter(|&(&p, &t)| p == t as usize).count();
    correct as f32 / y.len().max(1) as f32
}
