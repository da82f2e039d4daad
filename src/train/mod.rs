//! The training loop (`train_model`) and evaluation.
//!
//! One iteration on a mini-batch `(X, y)`:
//! `model_forward` → `model_backward` (which starts from the loss) → `update_parameters`.
//! Every `eval_every` iterations (and after the last one) the cost and accuracy of the current
//! mini-batch and of the test set go into the [`History`].

pub mod history;
pub mod presets;

pub use history::{History, HistoryRow};
pub use presets::Preset;

use crate::data::{Dataset, random_mini_batches};
use crate::error::{Error, Result};
use crate::nn::{Activation, Gradients, Init, Model, ModelState, compute_loss, model_backward, model_forward};
use crate::optim::{Optimizer, OptimizerState, update_parameters};
use crate::tensor::Matrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Length {
    /// Whole passes over the training set.
    Epochs(usize),
    /// Optimizer steps (mini-batches), continuing across epochs.
    Iterations(usize),
}

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainConfig {
    /// Hidden layer sizes; empty = one-layer softmax regression.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub init: Init,
    pub optimizer: Optimizer,
    /// Step size `α`.
    pub learning_rate: f32,
    pub batch_size: usize,
    pub length: Length,
    /// Evaluate every this many iterations; 0 = only after the last one.
    pub eval_every: usize,
    /// Fixes initialization and the order of the mini-batches.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// The seed's one-layer network: softmax regression, SGD with α = 0.1, batches of 100.
    fn default() -> Self {
        TrainConfig {
            hidden: vec![],
            activation: Activation::Relu,
            init: Init::default(),
            optimizer: Optimizer::Sgd,
            learning_rate: 0.1,
            batch_size: 100,
            length: Length::Epochs(10),
            eval_every: 100,
            seed: 1,
        }
    }
}

impl TrainConfig {
    /// Checks the settings, naming the flag at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::invalid(m.to_string()));
        if self.batch_size == 0 {
            return bad("--batch-size must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("--lr must be a positive number");
        }
        if self.hidden.contains(&0) {
            return bad("--hidden: every layer needs at least one unit");
        }
        match self.length {
            Length::Epochs(0) => bad("--epochs must be at least 1"),
            Length::Iterations(0) => bad("--iterations must be at least 1"),
            _ => Ok(()),
        }
    }
}

/// What the loop reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// An iteration finished.
    Step { iteration: usize, total_iterations: usize, epoch: usize, loss: f32, accuracy: f32 },
    /// An evaluation point was added to the history.
    Evaluated(&'a HistoryRow),
}

/// The outcome of `train_model`.
#[derive(Clone, Debug)]
pub struct TrainResult {
    pub model: Model,
    pub history: History,
    /// Seconds spent in training steps alone (no evaluation, no I/O).
    pub train_seconds: f64,
    pub iterations: usize,
    /// Epochs run (fractional when training stopped mid-epoch).
    pub epochs: f64,
    /// Samples processed.
    pub samples: usize,
}

/// Trains a network on `train` as `config` says and returns it with its history.
/// `test`, when given, is evaluated every `config.eval_every` iterations (never trained on).
/// `observe` is called after each iteration and each evaluation (for progress display).
///
/// The same seed and thread count give bit-identical results.
pub fn train_model(
    train: &Dataset,
    test: Option<&Dataset>,
    config: &TrainConfig,
    observe: &mut dyn FnMut(Event),
) -> Result<TrainResult> {
    config.validate()?;
    if train.is_empty() {
        return Err(Error::invalid("the training set is empty"));
    }
    let classes = train.classes();
    let mut sizes = vec![train.pixels()];
    sizes.extend(&config.hidden);
    sizes.push(classes);

    // Two random streams from one seed: one initializes, one shuffles.
    let mut init_rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut shuffle_rng = ChaCha8Rng::seed_from_u64(config.seed);
    shuffle_rng.set_stream(1);

    let mut model = Model::new(&sizes, config.activation, config.init, &mut init_rng);
    model.input_shape = (train.height, train.width);
    let mut opt = OptimizerState::new(config.optimizer, config.learning_rate, &model);

    let mut batches = random_mini_batches(train.len(), config.batch_size, &mut shuffle_rng);
    let per_epoch = batches.len();
    let total = match config.length {
        Length::Epochs(e) => e * per_epoch,
        Length::Iterations(n) => n,
    };

    // Buffers sized by the first batch and reused: no allocation inside the loop.
    let mut x = Matrix::default();
    let mut y = Vec::new();
    let mut state = ModelState::default();
    let mut grads = Gradients::for_model(&model);

    let mut history = History::default();
    let mut train_seconds = 0.0;
    let mut iteration = 0;
    let mut samples = 0;
    let mut epoch = 0;
    'epochs: while iteration < total {
        epoch += 1;
        if epoch > 1 {
            batches.reshuffle(&mut shuffle_rng);
        }
        for batch in batches.iter() {
            let started = Instant::now();
            train.gather(batch, &mut x, &mut y);
            model_forward(&model, &x, &mut state);
            let (loss, correct) = model_backward(&model, &x, &state, &y, &mut grads);
            if !loss.is_finite() {
                return Err(Error::invalid(format!(
                    "training diverged at iteration {} (the loss is {loss}): try a smaller learning rate (--lr)",
                    iteration + 1
                )));
            }
            update_parameters(&mut model, &grads, &mut opt);
            train_seconds += started.elapsed().as_secs_f64();

            iteration += 1;
            samples += batch.len();
            let accuracy = correct as f32 / batch.len() as f32;
            observe(Event::Step { iteration, total_iterations: total, epoch, loss, accuracy });
            let due = config.eval_every > 0 && iteration % config.eval_every == 0;
            if due || iteration == total {
                let (test_loss, test_accuracy) = match test {
                    Some(t) => {
                        let e = evaluate(&model, t);
                        (Some(e.loss), Some(e.accuracy))
                    }
                    None => (None, None),
                };
                history.rows.push(HistoryRow {
                    iteration,
                    epoch,
                    train_loss: loss,
                    train_accuracy: accuracy,
                    test_loss,
                    test_accuracy,
                });
                observe(Event::Evaluated(history.last().unwrap()));
            }
            if iteration == total {
                break 'epochs;
            }
        }
    }
    Ok(TrainResult { model, history, train_seconds, iterations: iteration, epochs: iteration as f64 / per_epoch as f64, samples })
}

/// Loss, accuracy and predicted class of every sample of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy over the dataset.
    pub loss: f32,
    pub accuracy: f32,
    /// Predicted class of each sample.
    pub predictions: Vec<u8>,
}

impl Evaluation {
    /// `matrix[true][predicted]` counts, `classes × classes`.
    pub fn confusion_matrix(&self, labels: &[u8], classes: usize) -> Vec<Vec<usize>> {
        let mut m = vec![vec![0; classes]; classes];
        for (&t, &p) in labels.iter().zip(&self.predictions) {
            m[t as usize][p as usize] += 1;
        }
        m
    }
}

/// Evaluates `model` on all of `data`, in chunks of 1000 samples.
pub fn evaluate(model: &Model, data: &Dataset) -> Evaluation {
    const CHUNK: usize = 1000;
    let mut x = Matrix::default();
    let mut y = Vec::new();
    let mut state = ModelState::default();
    let mut total_loss = 0.0f64;
    let mut predictions = Vec::with_capacity(data.len());
    let all: Vec<usize> = (0..data.len()).collect();
    for chunk in all.chunks(CHUNK) {
        data.gather(chunk, &mut x, &mut y);
        let logits = model_forward(model, &x, &mut state);
        total_loss += compute_loss(logits, &y) as f64 * chunk.len() as f64;
        predictions.extend(logits.argmax_rows().into_iter().map(|p| p as u8));
    }
    let correct = predictions.iter().zip(&data.labels).filter(|(p, t)| p == t).count();
    Evaluation {
        loss: (total_loss / data.len().max(1) as f64) as f32,
        accuracy: correct as f32 / data.len().max(1) as f32,
        predictions,
    }
}
