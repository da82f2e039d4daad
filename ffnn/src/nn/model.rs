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
use super::linear::{Listing, SparseInput, input_linear_backward, input_linear_forward, linear_backward, linear_forward};
use super::loss::{softmax, softmax_cross_entropy_backward};
use crate::sparse::Csr;
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
    /// Each layer's output: `A_l` for hidden layers, the logits `Z_L` last.
    pub outputs: Vec<Matrix>,
    /// Set while training: dropout and label smoothing apply; `None` for evaluation.
    pub training: Option<TrainingMode>,
    /// With dropout: each hidden layer's mask (0 or `1/(1 − p)` per unit and sample)…
    pub masks: Vec<Matrix>,
    /// …and its output after the mask, `A_l ⊙ M_l`, which the next layer reads.
    pub dropped: Vec<Matrix>,
    /// The input batch by its non-zero pixels, when it is sparse enough to pay (see
    /// [`input_linear_forward`]).
    pub sparse_input: SparseInput,
}

/// Regularization that acts only while training.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TrainingMode {
    /// Inverted dropout rate `p` on hidden activations.
    pub dropout: f32,
    /// Label smoothing `ε` of the loss.
    pub label_smoothing: f32,
    /// L2 penalty `λ`: the cost gains `λ/2·Σ_l ‖W_l‖²`, every `dW_l` gains `λ·W_l`.
    pub l2: f32,
    /// Draws this step's dropout masks (one seed per step, so runs are reproducible).
    pub seed: u64,
}

impl ModelState {
    /// The logits `Z_L` of the last forward pass.
    pub fn logits(&self) -> &Matrix {
        self.outputs.last().expect("model_forward has not run")
    }

    fn dropout(&self) -> Option<TrainingMode> {
        self.training.filter(|t| t.dropout > 0.0)
    }

    /// What layer `l + 1` reads: `A_l`, or `A_l ⊙ M_l` with dropout.
    fn layer_input(&self, l: usize) -> &Matrix {
        if self.dropout().is_some() { &self.dropped[l] } else { &self.outputs[l] }
    }
}

/// The gradients of `J` with respect to every parameter, plus the `dZ` buffers of the backward pass.
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    /// `dW_l` (in × out) and `db_l` (out), shaped like the model's layers.
    pub layers: Vec<Layer>,
    /// `dZ_l` of the last backward pass, one per layer.
    pub deltas: Vec<Matrix>,
    /// `Xᵀ` by its non-zero entries, for `dW₁ = Xᵀ·dZ₁` when the first layer took the sparse
    /// path: listed by the backward pass (only `dW₁` needs it).
    pub input_t: Csr,
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
            input_t: Csr::default(),
        }
    }
}

/// The forward pass over a whole mini-batch `X` (n × inputs): fills `state` with every
/// layer's output and returns the logits `Z_L` (n × classes). (When `state.sparse_input` holds
/// a batch listed straight from a dataset's bytes, [`SparseInput::list_bytes`], the first layer
/// reads that batch instead of `x`: see `train::gather_batch`.)
///
/// While training with dropout, every hidden output is multiplied by a fresh random mask
/// `M_l` (each unit kept with probability `1 − p` and then scaled by `1/(1 − p)`, so the expected
/// activation is unchanged and evaluation needs no rescaling: "inverted" dropout).
///
/// ```
/// use rand::SeedableRng;
/// use ffnn::nn::{Activation, Init, Model, ModelState, model_forward};
/// use ffnn::tensor::Matrix;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let model = Model::new(&[4, 8, 3], Activation::Relu, Init::He, &mut rng);
/// let x = Matrix::from_vec(2, 4, vec![0.0, 0.5, 1.0, 0.2, 0.9, 0.0, 0.0, 0.3]); // 2 samples
/// let mut state = ModelState::default();
/// let logits = model_forward(&model, &x, &mut state);
/// assert_eq!((logits.rows, logits.cols), (2, 3));
/// ```
pub fn model_forward<'s>(model: &Model, x: &Matrix, state: &'s mut ModelState) -> &'s Matrix {
    // (A batch listed straight from bytes, `SparseInput::list_bytes`, is in `state`, not in `x`.)
    let cols = if state.sparse_input.listing == Listing::Listed { state.sparse_input.x.cols } else { x.cols };
    assert_eq!(cols, model.inputs(), "model_forward: {cols} input columns, the model takes {}", model.inputs());
    let layers = model.layers.len();
    state.outputs.resize_with(layers, Matrix::default);
    let dropout = state.dropout();
    if dropout.is_some() {
        state.masks.resize_with(layers - 1, Matrix::default);
        state.dropped.resize_with(layers - 1, Matrix::default);
    }
    for (l, layer) in model.layers.iter().enumerate() {
        let mut out = std::mem::take(&mut state.outputs[l]);
        if l == 0 {
            input_linear_forward(x, &mut state.sparse_input, &layer.weight, &layer.bias, &mut out);
        } else {
            linear_forward(state.layer_input(l - 1), &layer.weight, &layer.bias, &mut out);
        }
        if l < layers - 1 {
            activation_forward(&mut out, model.activation);
            if let Some(mode) = dropout {
                dropout_forward(&out, mode.dropout, mode.seed, l, &mut state.masks[l], &mut state.dropped[l]);
            }
        }
        state.outputs[l] = out;
    }
    state.logits()
}

/// Inverted dropout: `M_ij = 1/(1 − p)` with probability `1 − p`, else 0; `dropped = A ⊙ M`.
/// The mask comes from a ChaCha stream per (step seed, layer); each thread fills its own rows,
/// seeking the stream to their position, so the mask does not depend on the thread count.
pub fn dropout_forward(a: &Matrix, rate: f32, seed: u64, layer: usize, mask: &mut Matrix, dropped: &mut Matrix) {
    use rand::{RngCore, SeedableRng};
    mask.reshape(a.rows, a.cols);
    dropped.reshape(a.rows, a.cols);
    let keep = 1.0 / (1.0 - rate);
    // One 16-bit draw per element, two per 32-bit word: drop when the draw < p·65536.
    let threshold = (rate * 65536.0).round() as u32;
    let cols = a.cols.max(1);
    crate::parallel::for_each_chunk_mut(&mut mask.data, cols * 2, 8, &|first_pair, rows| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(layer as u64);
        rng.set_word_pos((first_pair * cols) as u128);
        for pair in rows.chunks_mut(2) {
            let word = rng.next_u32();
            for (k, m) in pair.iter_mut().enumerate() {
                *m = if (word >> (16 * k)) & 0xffff < threshold { 0.0 } else { keep };
            }
        }
    });
    dropped.data.copy_from_slice(&a.data);
    crate::parallel::for_each_zip_mut(&mut dropped.data, &mask.data, &|d, m| d.iter_mut().zip(m).for_each(|(d, &m)| *d *= m));
}

/// The backward pass: from the labels `y` and the forward `state` of the same batch `x`,
/// writes `dJ/dW_l` and `dJ/db_l` of every layer into `grads`, and returns the cost `J` it
/// differentiated (the mean cross-entropy, with label smoothing while training; the training
/// loop reports the plain [`compute_loss`](super::compute_loss) instead, comparable with the
/// test set's). The first step is `dZ_L = (softmax(Z_L) − Ỹ)/n`.
/// With dropout, the gradient flows only through the kept units: `dA_l ← dA_l ⊙ M_l`.
/// With an L2 penalty `λ` (while training), `J` gains `λ/2·Σ_l ‖W_l‖²` and `dW_l` gains `λ·W_l`.
///
/// ```
/// use rand::SeedableRng;
/// use ffnn::nn::{Activation, Gradients, Init, Model, ModelState, compute_loss, model_backward, model_forward};
/// use ffnn::tensor::Matrix;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let model = Model::new(&[4, 8, 3], Activation::Relu, Init::He, &mut rng);
/// let (x, y) = (Matrix::from_vec(2, 4, vec![0.0, 0.5, 1.0, 0.2, 0.9, 0.0, 0.0, 0.3]), [2u8, 0]);
/// let mut state = ModelState::default();
/// let cost = compute_loss(model_forward(&model, &x, &mut state), &y);
/// let mut grads = Gradients::for_model(&model);
/// assert_eq!(model_backward(&model, &x, &state, &y, &mut grads), cost);
/// assert_eq!((grads.layers[0].weight.rows, grads.layers[0].weight.cols), (4, 8)); // dW₁ like W₁
/// ```
pub fn model_backward(model: &Model, x: &Matrix, state: &ModelState, y: &[u8], grads: &mut Gradients) -> f32 {
    let layers = model.layers.len();
    grads.deltas.resize_with(layers, Matrix::default);
    let smoothing = state.training.map_or(0.0, |t| t.label_smoothing);
    let Gradients { layers: grad_layers, deltas, input_t } = grads;
    let sparse = &state.sparse_input;
    // dZ_L, then every layer's gradients but the first's.
    let mut after_the_first = || {
        let loss = softmax_cross_entropy_backward(state.logits(), y, smoothing, &mut deltas[layers - 1]);
        for l in (1..layers).rev() {
            let (before, from_l) = deltas.split_at_mut(l);
            let grad = &mut grad_layers[l];
            let (a_prev, d) = (state.layer_input(l - 1), &mut before[l - 1]);
            linear_backward(a_prev, &model.layers[l].weight, &from_l[0], &mut grad.weight, &mut grad.bias, Some(d));
            if state.dropout().is_some() {
                crate::parallel::for_each_zip_mut(&mut d.data, &state.masks[l - 1].data, &|d, m| {
                    d.iter_mut().zip(m).for_each(|(g, &m)| *g *= m)
                });
            }
            activation_backward(d, &state.outputs[l - 1], model.activation);
        }
        loss
    };
    // The first layer's gradient comes last, but the `Xᵀ` it reads (when it needs one) can be
    // listed now: on a second thread, while this one computes the rest, whose first products
    // are too small to share between threads (see `parallel::overlap`).
    let loss = if sparse.needs_transpose(model.layers[0].outputs()) {
        crate::parallel::overlap(|| input_t.fill_transpose_of(&sparse.x), after_the_first)
    } else {
        after_the_first()
    };
    let first = &mut grad_layers[0];
    input_linear_backward(x, sparse, input_t, &deltas[0], &mut first.weight, &mut first.bias);
    let l2 = state.training.map_or(0.0, |t| t.l2);
    if l2 > 0.0 {
        return loss + l2_penalty(model, l2, grads);
    }
    loss
}

/// The L2 penalty's part of the backward pass: `dW_l += λ·W_l` for every layer; returns its
/// cost `λ/2·Σ_l ‖W_l‖²`.
fn l2_penalty(model: &Model, l2: f32, grads: &mut Gradients) -> f32 {
    let mut squares = 0.0f64;
    for (layer, grad) in model.layers.iter().zip(&mut grads.layers) {
        for (g, &w) in grad.weight.data.iter_mut().zip(&layer.weight.data) {
            *g += l2 * w;
            squares += (w as f64) * (w as f64);
        }
    }
    (0.5 * l2 as f64 * squares) as f32
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

/// Class probabilities of the `rows` samples in `values` (row after row), each row computed
/// the same way whatever other rows are in the call: in blocks of [`PREDICT_BLOCK`] rows (the
/// last one padded with zero rows), with the first layer's path (sparse or dense) chosen once
/// from the density of all of `values`; the blocks are shared between the threads. (A
/// product's rounding can depend on the shape of the batch it is in; scikit-learn requires the
/// probabilities of a subset of rows to be those of the same rows predicted with all the
/// others, to 1e-7.)
pub fn predict_in_blocks(model: &Model, values: &[f32], rows: usize) -> Matrix {
    let width = model.inputs();
    assert_eq!(values.len(), rows * width, "predict_in_blocks: {} values for {rows} rows of {width}", values.len());
    let non_zero = values.iter().filter(|&&v| v != 0.0).count();
    let sparse = non_zero as f32 <= crate::sparse::MAX_DENSITY * values.len() as f32;
    let classes = model.classes();
    let mut out = Matrix::zeros(rows, classes);
    // Each thread takes its own run of consecutive blocks and computes them one after another
    // with buffers of its own, every product on that thread alone (a block's bits do not
    // depend on the thread that computes it).
    crate::parallel::for_each_chunk_mut(&mut out.data, PREDICT_BLOCK * classes, 1, &|first_block, mine| {
        let mut state = ModelState::default();
        state.sparse_input.force = Some(sparse);
        let mut x = Matrix::zeros(PREDICT_BLOCK, width);
        let mut p = Matrix::default();
        for (block, out) in (first_block..).zip(mine.chunks_mut(PREDICT_BLOCK * classes)) {
            let (first, take) = (block * PREDICT_BLOCK, out.len() / classes.max(1));
            x.data[..take * width].copy_from_slice(&values[first * width..(first + take) * width]);
            x.data[take * width..].fill(0.0);
            softmax(model_forward(model, &x, &mut state), &mut p);
            out.copy_from_slice(&p.data[..take * classes]);
        }
    });
    out
}

/// Rows per block of [`predict_in_blocks`].
pub const PREDICT_BLOCK: usize = 256;

/// Fraction of rows of `scores` (probabilities or logits) whose arg-max equals the label:
/// the one accuracy of ffnn (of a mini-batch while training, of a dataset in `evaluate`).
pub fn accuracy(scores: &Matrix, y: &[u8]) -> f32 {
    correct(scores, y) as f32 / y.len().max(1) as f32
}

/// How many rows of `scores` have their arg-max at the label (see [`accuracy`]).
pub fn correct(scores: &Matrix, y: &[u8]) -> usize {
    assert_eq!(scores.rows, y.len(), "accuracy: {} rows of scores, {} labels", scores.rows, y.len());
    (0..scores.rows).filter(|&i| crate::tensor::argmax(scores.row(i)) == y[i] as usize).count()
}
