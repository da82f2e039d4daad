//! The training loop (`train_model`) and evaluation.
//!
//! Every epoch, `random_mini_batches` cuts the shuffled training set into batches; one
//! iteration on a mini-batch `(X, y)` is the seed's step:
//! `model_forward` → `compute_loss` (and `accuracy`) → `model_backward` → `update_parameters`
//! (the cost comes from `model_backward`, which computes the same sums on the way).
//! Every `eval_every` iterations (and after the last one) the cost and accuracy of the current
//! mini-batch and of the test set go into the [`History`], both plain cross-entropy (label
//! smoothing and dropout shape the gradient, not the reported cost).

pub mod checkpoint;
pub mod history;
pub mod memory;
pub mod presets;
pub mod run_dir;
pub mod schedule;

pub use checkpoint::Checkpoint;
pub use history::{History, HistoryRow};
pub use presets::Preset;
pub use schedule::Schedule;

use crate::data::augment::{Augment, Augmenter};
use crate::data::{MiniBatches, PIXEL_SCALE, Samples, random_mini_batches};
use crate::error::{Error, Result};
use crate::nn::{
    Activation, Gradients, Init, Model, ModelState, SparseInput, TrainingMode, accuracy, compute_loss, model_backward,
    model_forward, softmax_and_loss,
};
use crate::optim::{Optimizer, OptimizerState, update_parameters};
use crate::sparse::PackedRows;
use crate::tensor::Matrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Length {
    /// Whole passes over the training set.
    Epochs(usize),
    /// Optimizer steps (mini-batches), continuing across epochs.
    Iterations(usize),
}

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Hidden layer sizes; empty = one-layer softmax regression.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// How the weights start.
    pub init: Init,
    /// The update rule.
    pub optimizer: Optimizer,
    /// Step size `α`.
    pub learning_rate: f32,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// How long to train.
    pub length: Length,
    /// Evaluate every this many iterations; 0 = only after the last one.
    pub eval_every: usize,
    /// Fixes initialization and the order of the mini-batches.
    pub seed: u64,
    /// How the learning rate changes over the run.
    #[serde(default)]
    pub schedule: Schedule,
    /// Decoupled weight decay `λ` (AdamW): every step, `W ← W − α·λ·W` (weights, not biases).
    #[serde(default)]
    pub weight_decay: f32,
    /// Label smoothing `ε` (see `nn::loss`).
    #[serde(default)]
    pub label_smoothing: f32,
    /// Inverted dropout rate on hidden activations.
    #[serde(default)]
    pub dropout: f32,
    /// Random distortions of every training batch (none when `None`).
    #[serde(default)]
    pub augment: Option<Augment>,
    /// L2 penalty `λ` added to the cost, `J + λ/2·Σ_l ‖W_l‖²`, so every weight gradient gets
    /// `+ λ·W` (biases are not penalized). Unlike `weight_decay` it goes through the optimizer
    /// (Adam rescales it); scikit-learn's `alpha` is `λ = alpha / batch_size`. 0: none.
    #[serde(default)]
    pub l2: f32,
    /// Shuffle the samples every epoch (`random_mini_batches`); `false` cuts the batches in
    /// the data's own order, the same every epoch.
    #[serde(default = "shuffle_by_default")]
    pub shuffle: bool,
}

/// `TrainConfig::shuffle` of configurations written before it existed: they all shuffled.
fn shuffle_by_default() -> bool {
    true
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
            schedule: Schedule::Constant,
            weight_decay: 0.0,
            label_smoothing: 0.0,
            dropout: 0.0,
            augment: None,
            l2: 0.0,
            shuffle: true,
        }
    }
}

impl TrainConfig {
    /// Checks the settings: the first one out of range is an [`Error::Setting`] naming the
    /// field (`batch_size`, `augment.rotation`, …) and what is valid.
    pub fn validate(&self) -> Result<()> {
        let bad = |setting: &'static str, requirement: &str| Err(Error::setting(setting, requirement));
        let within = |v: f32, range: std::ops::RangeInclusive<f32>| v.is_finite() && range.contains(&v);
        let fraction = |v: f32| v.is_finite() && (0.0..1.0).contains(&v);
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be a positive number");
        }
        if self.hidden.contains(&0) {
            return bad("hidden", "layers need at least one unit each");
        }
        if !fraction(self.dropout) {
            return bad("dropout", "must be in [0, 1)");
        }
        if !fraction(self.label_smoothing) {
            return bad("label_smoothing", "must be in [0, 1)");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", "must be a number ≥ 0");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", "must be a number ≥ 0");
        }
        match self.optimizer {
            Optimizer::Momentum { momentum } if !fraction(momentum) => return bad("optimizer.momentum", "must be in [0, 1)"),
            Optimizer::Adam { beta1, beta2, eps } if !(fraction(beta1) && fraction(beta2) && eps.is_finite() && eps > 0.0) => {
                return bad("optimizer", "Adam needs β₁ and β₂ in [0, 1) and ε > 0");
            }
            _ => {}
        }
        if let Init::Normal { std } = self.init
            && !(std.is_finite() && std > 0.0)
        {
            return bad("init.std", "must be a positive number");
        }
        match self.schedule {
            Schedule::Step { every_epochs, gamma } => {
                if every_epochs == 0 {
                    return bad("schedule.every_epochs", "must be at least 1");
                }
                if !(gamma.is_finite() && gamma > 0.0 && gamma <= 1.0) {
                    return bad("schedule.gamma", "must be in (0, 1]");
                }
            }
            Schedule::Cosine { warmup_fraction }
            | Schedule::OneCycle { warmup_fraction }
            | Schedule::Restarts { warmup_fraction, .. }
                if !fraction(warmup_fraction) =>
            {
                return bad("schedule.warmup_fraction", "must be a fraction in [0, 1)");
            }
            Schedule::Restarts { cycles, multiplier, .. } => {
                if !(1..=16).contains(&cycles) {
                    return bad("schedule.cycles", "must be from 1 to 16");
                }
                if !within(multiplier, 0.1..=100.0) {
                    return bad("schedule.multiplier", "must be between 0.1 and 100");
                }
            }
            _ => {}
        }
        if let Some(a) = &self.augment {
            if !within(a.rotation, 0.0..=180.0) {
                return bad("augment.rotation", "must be from 0 to 180 (degrees either way)");
            }
            if !(a.scale.is_finite() && (0.0..1.0).contains(&a.scale)) {
                return bad("augment.scale", "must be in [0, 1) (0.1: sizes from 90% to 110%)");
            }
            if !within(a.shear, 0.0..=60.0) {
                return bad("augment.shear", "must be from 0 to 60 (degrees either way)");
            }
            if !within(a.translate, 0.0..=1000.0) {
                return bad("augment.translate", "must be from 0 to 1000 (pixels either way)");
            }
            if !within(a.elastic_alpha, 0.0..=1000.0) {
                return bad("augment.elastic_alpha", "must be from 0 to 1000 (pixels; 0: no elastic distortion)");
            }
            if !within(a.elastic_sigma, 0.5..=100.0) {
                return bad("augment.elastic_sigma", "must be from 0.5 to 100 (pixels)");
            }
        }
        match self.length {
            Length::Epochs(0) => bad("length.epochs", "must be at least 1"),
            Length::Iterations(0) => bad("length.iterations", "must be at least 1"),
            _ => Ok(()),
        }
    }
}

/// What the loop reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// An iteration finished.
    Step {
        /// Steps done (1 after the first).
        iteration: usize,
        /// Steps the run will take.
        total_iterations: usize,
        /// The epoch it belongs to (from 1).
        epoch: usize,
        /// Samples in the mini-batch (the last one of an epoch may be smaller).
        samples: usize,
        /// The mini-batch's cost (plain cross-entropy).
        loss: f32,
        /// The mini-batch's accuracy.
        accuracy: f32,
    },
    /// An evaluation point was added to the history.
    Evaluated(&'a HistoryRow),
}

/// The outcome of `train_model`.
#[derive(Clone, Debug)]
pub struct TrainResult {
    /// The trained network.
    pub model: Model,
    /// Cost and accuracy every `eval_every` iterations.
    pub history: History,
    /// Seconds spent in training steps alone (no evaluation, no I/O).
    pub train_seconds: f64,
    /// Steps run.
    pub iterations: usize,
    /// Epochs run (fractional when training stopped mid-epoch).
    pub epochs: f64,
    /// Samples processed.
    pub samples: usize,
    /// Whether training stopped early because [`TrainControl::stop`] was set.
    pub interrupted: bool,
}

/// When to write checkpoints: at the end of every `every_epochs`-th epoch, and/or at the end of
/// an epoch once `every_seconds` of training have passed since the last one.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CheckpointPolicy {
    /// At the end of every this many epochs.
    pub every_epochs: Option<usize>,
    /// At the end of an epoch once this many seconds of training passed since the last one.
    pub every_seconds: Option<f64>,
}

/// Writes a checkpoint (the CLI saves it to the run folder with the history).
pub type SaveCheckpoint<'a> = dyn FnMut(&Checkpoint) -> Result<()> + Send + 'a;

/// Optional control over a run: resuming, stopping, checkpointing.
#[derive(Default)]
pub struct TrainControl<'a> {
    /// Continue this checkpoint instead of starting afresh.
    pub resume: Option<Checkpoint>,
    /// Checked after every step: when set, training writes a checkpoint and returns.
    pub stop: Option<&'a AtomicBool>,
    /// When to write checkpoints.
    pub checkpoints: CheckpointPolicy,
    /// Called with the run's state whenever a checkpoint is due (and when stopped).
    pub on_checkpoint: Option<&'a mut SaveCheckpoint<'a>>,
    /// A validation set (held out of the training set), evaluated with the test set.
    pub validation: Option<&'a dyn Samples>,
    /// Return after this many more whole epochs, though the run is longer (the schedule still
    /// spans `config.length`): for callers that look at each epoch before going on (the Python
    /// package's early stopping). `None`: run to the end.
    pub epochs: Option<usize>,
}

/// Trains a network on `train` (images, [`crate::data::Dataset`], or rows of numbers,
/// [`crate::data::Table`]) as `config` says and returns it with its history.
/// `test`, when given, is evaluated every `config.eval_every` iterations (never trained on).
/// `observe` is called after each iteration and each evaluation (for progress display).
///
/// The same seed and thread count give bit-identical results.
pub fn train_model(
    train: &dyn Samples,
    test: Option<&dyn Samples>,
    config: &TrainConfig,
    observe: &mut dyn FnMut(Event),
) -> Result<TrainResult> {
    train_model_with(train, test, config, TrainControl::default(), observe)
}

/// A fresh run of `config` on data shaped like `train`: initialized parameters, zeroed
/// optimizer state, the first epoch ahead. [`continue_training`] trains it.
pub fn initialize_run(train: &dyn Samples, config: &TrainConfig) -> Result<Checkpoint> {
    config.validate()?;
    if train.is_empty() {
        return Err(Error::invalid("the training set is empty"));
    }
    memory::check(config, train.features(), train.classes(), train.len(), memory::available())?;
    let mut sizes = vec![train.features()];
    sizes.extend(&config.hidden);
    sizes.push(train.classes());
    // Two random streams from one seed: one initializes, one shuffles.
    let mut init_rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut shuffle_rng = ChaCha8Rng::seed_from_u64(config.seed);
    shuffle_rng.set_stream(1);
    let mut model = Model::new(&sizes, config.activation, config.init, &mut init_rng);
    model.input_shape = train.image_shape().unwrap_or((1, train.features()));
    let mut optimizer = OptimizerState::new(config.optimizer, config.learning_rate, &model);
    optimizer.weight_decay = config.weight_decay;
    Ok(Checkpoint {
        config: config.clone(),
        model,
        optimizer,
        epoch: 1,
        batches_done: 0,
        epoch_rng: shuffle_rng,
        iteration: 0,
        samples: 0,
        train_seconds: 0.0,
        history: History::default(),
    })
}

/// The seed of step `iteration`'s random draws (dropout masks): one per step, from the run's seed.
fn step_seed(seed: u64, iteration: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (iteration as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// Whether a mini-batch loss means training has diverged, and why: it is NaN or infinite, or
/// over 100 times the larger of `ln M` (the loss of guessing uniformly among `M` classes) and
/// `start`, the loss the run started this call from (features far outside [0, 1], as a table
/// of raw numbers may have, can start a network far above `ln M`). A network that starts sanely
/// never gets there; one whose learning rate is far too large does within a few steps, usually
/// long before anything overflows, because its ReLUs die and its logits grow without bound.
pub fn diverged(loss: f32, classes: usize, start: f32) -> Option<String> {
    let uniform = (classes.max(2) as f32).ln();
    if !loss.is_finite() {
        Some(format!("the loss is {loss}"))
    } else if loss > 100.0 * uniform.max(start) {
        let (what, reference) = if start > uniform { ("the first mini-batch's", start) } else { ("a uniform guess's", uniform) };
        Some(format!("the mini-batch loss is {loss:.3e}, over 100 times {what} {reference:.2}"))
    } else {
        None
    }
}

/// [`train_model`] with resuming, a stop flag and checkpoints (see [`TrainControl`]).
/// When resuming, `config` must be the checkpoint's, except for its length, which may differ.
pub fn train_model_with(
    train: &dyn Samples,
    test: Option<&dyn Samples>,
    config: &TrainConfig,
    mut control: TrainControl,
    observe: &mut dyn FnMut(Event),
) -> Result<TrainResult> {
    let mut run = match control.resume.take() {
        Some(mut c) => {
            c.config.length = config.length;
            c
        }
        None => initialize_run(train, config)?,
    };
    let interrupted = continue_training(&mut run, train, test, control, observe)?;
    let per_epoch = train.len().div_ceil(run.config.batch_size);
    let epochs = (run.iteration as f64 / per_epoch as f64).min(run.epoch as f64);
    Ok(TrainResult {
        model: run.model,
        history: run.history,
        train_seconds: run.train_seconds,
        iterations: run.iteration,
        epochs,
        samples: run.samples,
        interrupted,
    })
}

/// Trains the run `run` (from [`initialize_run`] or a checkpoint) on `train` until its
/// `config.length` is reached, or `control` stops it: its stop flag was set (then the result
/// is `true`, and `run` holds every finished step) or its `epochs` are done.
pub fn continue_training(
    run: &mut Checkpoint,
    train: &dyn Samples,
    test: Option<&dyn Samples>,
    mut control: TrainControl,
    observe: &mut dyn FnMut(Event),
) -> Result<bool> {
    let config = run.config.clone();
    config.validate()?;
    if train.is_empty() {
        return Err(Error::invalid("the training set is empty"));
    }
    if config.augment.is_some() && train.image_shape().is_none() {
        return Err(Error::setting("augment", "needs images: a table has no pixels to distort"));
    }
    memory::check(&config, train.features(), train.classes(), train.len(), memory::available())?;
    run.check_compatible(train)?;
    let per_epoch = train.len().div_ceil(config.batch_size);
    let total = match config.length {
        Length::Epochs(e) => e * per_epoch,
        Length::Iterations(n) => n,
    };

    // Buffers sized by the first batch and reused: no allocation inside the loop.
    let mut x = Matrix::default();
    let mut y = Vec::new();
    let mut state = ModelState::default();
    // Images denser on the whole than the sparse path allows (Fashion-MNIST: about half the
    // pixels are non-zero) never try it: nearly every batch would be counted, then gathered.
    if train.images().is_some_and(|images| images.density() > crate::sparse::MAX_DENSITY) {
        state.sparse_input.force = Some(false);
    }
    let packed = packed_training_set(train, &config);
    let mut grads = Gradients::for_model(&run.model);
    let mut augmenter = Augmenter::default();
    let mut since_checkpoint = 0.0;
    let mut epochs_since_checkpoint = 0;
    let mut epochs_done = 0;
    let mut interrupted = false;
    let mut first_loss = None;

    'epochs: while run.iteration < total {
        // This epoch's order, from the RNG as it was when the epoch began: a run resumed in the
        // middle of an epoch sees the same batches as one that never stopped.
        let mut rng = run.epoch_rng.clone();
        let batches = if config.shuffle {
            random_mini_batches(train.len(), config.batch_size, &mut rng)
        } else {
            MiniBatches::new(train.len(), config.batch_size)
        };
        let mut upcoming = batches.iter().skip(run.batches_done).peekable();
        while let Some(batch) = upcoming.next() {
            let started = Instant::now();
            let learning_rate = config.schedule.learning_rate(config.learning_rate, run.iteration, total, per_epoch);
            run.optimizer.learning_rate = learning_rate;
            if config.dropout > 0.0 || config.label_smoothing > 0.0 || config.l2 > 0.0 {
                state.training = Some(TrainingMode {
                    dropout: config.dropout,
                    label_smoothing: config.label_smoothing,
                    l2: config.l2,
                    seed: step_seed(config.seed, run.iteration),
                });
            }
            if let Some(aug) = &config.augment {
                train.gather(batch, &mut x, &mut y);
                let (height, width) = train.image_shape().expect("checked above: augmentation has images");
                augmenter.apply(&mut x, height, width, aug, config.seed, run.iteration);
            } else {
                gather_batch(
                    train,
                    packed.as_ref(),
                    batch,
                    run.model.layers[0].outputs(),
                    &mut x,
                    &mut y,
                    &mut state.sparse_input,
                );
            }
            // The next batch's samples, scattered over the training set, come from memory
            // while this one is computed.
            if let Some(next) = upcoming.peek() {
                match &packed {
                    Some(packed) => packed.prefetch(next),
                    None => train.prefetch(next),
                }
            }
            // The seed's step: forward, cost, backward, update. The cost is the one the backward
            // pass differentiates — `compute_loss`'s sums, so its bits, without computing them
            // twice — unless label smoothing or an L2 penalty change that one: the reported
            // cost is always the plain cross-entropy.
            let logits = model_forward(&run.model, &x, &mut state);
            let batch_accuracy = accuracy(logits, &y);
            let cost = model_backward(&run.model, &x, &state, &y, &mut grads);
            let plain = state.training.is_none_or(|t| t.label_smoothing == 0.0 && t.l2 == 0.0);
            let loss = if plain { cost } else { compute_loss(state.logits(), &y) };
            let start = *first_loss.get_or_insert(loss);
            if let Some(why) = diverged(loss, run.model.classes(), start) {
                return Err(Error::Diverged { iteration: run.iteration + 1, why });
            }
            update_parameters(&mut run.model, &grads, &mut run.optimizer);
            let seconds = started.elapsed().as_secs_f64();
            run.train_seconds += seconds;
            since_checkpoint += seconds;

            run.iteration += 1;
            run.batches_done += 1;
            run.samples += batch.len();
            let (iteration, epoch) = (run.iteration, run.epoch);
            observe(Event::Step {
                iteration,
                total_iterations: total,
                epoch,
                samples: batch.len(),
                loss,
                accuracy: batch_accuracy,
            });
            let due = config.eval_every > 0 && iteration % config.eval_every == 0;
            if due || iteration == total {
                let measure = |d: Option<&dyn Samples>| match d {
                    Some(d) => {
                        let e = evaluate(&run.model, d);
                        (Some(e.loss), Some(e.accuracy))
                    }
                    None => (None, None),
                };
                let (val_loss, val_accuracy) = measure(control.validation);
                let (test_loss, test_accuracy) = measure(test);
                run.history.rows.push(HistoryRow {
                    iteration,
                    epoch,
                    seconds: run.train_seconds,
                    learning_rate,
                    train_loss: loss,
                    train_accuracy: batch_accuracy,
                    val_loss,
                    val_accuracy,
                    test_loss,
                    test_accuracy,
                });
                observe(Event::Evaluated(run.history.last().unwrap()));
            }
            if iteration == total {
                break 'epochs;
            }
            if control.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                interrupted = true;
                if let Some(save) = control.on_checkpoint.as_mut() {
                    save(run)?;
                }
                break 'epochs;
            }
        }
        // The epoch is over: the next one starts from the RNG as this one left it.
        run.epoch += 1;
        run.batches_done = 0;
        run.epoch_rng = rng;
        epochs_since_checkpoint += 1;
        epochs_done += 1;
        let policy = control.checkpoints;
        let due = policy.every_epochs.is_some_and(|n| n > 0 && epochs_since_checkpoint >= n)
            || policy.every_seconds.is_some_and(|s| since_checkpoint >= s);
        if due && let Some(save) = control.on_checkpoint.as_mut() {
            save(run)?;
            since_checkpoint = 0.0;
            epochs_since_checkpoint = 0;
        }
        if control.epochs == Some(epochs_done) {
            break;
        }
    }
    Ok(interrupted)
}

/// Loss, accuracy and predicted class of every sample of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy over the dataset.
    pub loss: f32,
    /// Fraction of samples classified correctly.
    pub accuracy: f32,
    /// Predicted class of each sample.
    pub predictions: Vec<u8>,
    /// The probability the model gives its prediction, `max_m p_m`, for each sample.
    pub confidences: Vec<f32>,
}

impl Evaluation {
    /// The samples the model got wrong, most confident first (ties by index): `(index,
    /// confidence in the wrong class)`.
    pub fn mistakes(&self, labels: &[u8]) -> Vec<(usize, f32)> {
        let mut wrong: Vec<(usize, f32)> =
            (0..labels.len()).filter(|&i| self.predictions[i] != labels[i]).map(|i| (i, self.confidences[i])).collect();
        wrong.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        wrong
    }

    /// `matrix[true][predicted]` counts, `classes × classes`.
    pub fn confusion_matrix(&self, labels: &[u8], classes: usize) -> Vec<Vec<usize>> {
        let mut m = vec![vec![0; classes]; classes];
        for (&t, &p) in labels.iter().zip(&self.predictions) {
            m[t as usize][p as usize] += 1;
        }
        m
    }
}

/// The training set packed by its non-zero pixels ([`crate::data::Dataset::packed`]) when its
/// batches are listed for the first layer's sparse path, to list them from: images, at most
/// [`crate::sparse::MAX_DENSITY`] of their pixels non-zero, not augmented (a distorted batch is
/// gathered from the bytes). Each batch then reads about a third of the memory (MNIST).
pub fn packed_training_set(train: &dyn Samples, config: &TrainConfig) -> Option<PackedRows> {
    let images = train.images()?;
    (config.augment.is_none() && images.density() <= crate::sparse::MAX_DENSITY).then(|| images.packed())
}

/// The seed's batch: the labels of the samples `indices` into `y`, and their inputs — listed by
/// their non-zero pixels straight into `sparse` when `data` is images of bytes and a first
/// layer of `units` units takes the sparse path for this batch (no dense batch is written:
/// the next [`model_forward`] reads the list), else copied into the rows of `x`. Returns
/// whether the batch was listed. `packed`, when given, is `data`'s images packed by their
/// non-zero pixels ([`crate::data::Dataset::packed`]), listed instead of their bytes: the same
/// entries.
pub fn gather_batch(
    data: &dyn Samples,
    packed: Option<&PackedRows>,
    indices: &[usize],
    units: usize,
    x: &mut Matrix,
    y: &mut Vec<u8>,
    sparse: &mut SparseInput,
) -> bool {
    if let Some(images) = data.images() {
        let row = |i: usize| images.image(indices[i]);
        let listed = match packed {
            Some(packed) => sparse.list_packed(packed, indices, PIXEL_SCALE, units),
            None => sparse.list_bytes(indices.len(), images.pixels(), &row, PIXEL_SCALE, units),
        };
        if listed {
            let labels = data.labels();
            y.clear();
            y.extend(indices.iter().map(|&i| labels[i]));
            return true;
        }
    }
    data.gather(indices, x, y);
    false
}

/// Evaluates `model` on all of `data` (images or a table), in chunks of 1000 samples shared
/// between the threads (each runs whole chunks: the same results on any number of threads).
///
/// ```
/// use rand::SeedableRng;
/// use ffnn::data::Dataset;
/// use ffnn::nn::{Activation, Init, Model};
/// let data = Dataset { images: vec![0, 255, 255, 0], labels: vec![1, 0], height: 1, width: 2 };
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let model = Model::new(&[2, 2], Activation::Relu, Init::He, &mut rng);
/// let e = ffnn::train::evaluate(&model, &data);
/// assert_eq!(e.predictions.len(), 2);
/// assert!((0.0..=1.0).contains(&e.accuracy));
/// ```
pub fn evaluate(model: &Model, data: &dyn Samples) -> Evaluation {
    const CHUNK: usize = 1000;
    let mut chunks = vec![ChunkEvaluation::default(); data.len().div_ceil(CHUNK)];
    // Each thread takes its own run of consecutive chunks and evaluates them one after another
    // with buffers of its own, every product on that thread alone: no hand-over between the
    // threads inside a chunk, and a chunk's results are the same whichever thread computes it
    // (a product's bits do not depend on the threads it runs on).
    crate::parallel::for_each_chunk_mut(&mut chunks, 1, 1, &|first, mine| {
        let (mut x, mut y, mut state, mut probabilities) =
            (Matrix::default(), Vec::new(), ModelState::default(), Matrix::default());
        let mut indices = Vec::with_capacity(CHUNK);
        for (c, chunk) in (first..).zip(mine) {
            indices.clear();
            indices.extend(c * CHUNK..((c + 1) * CHUNK).min(data.len()));
            gather_batch(data, None, &indices, model.layers[0].outputs(), &mut x, &mut y, &mut state.sparse_input);
            let logits = model_forward(model, &x, &mut state);
            chunk.loss = softmax_and_loss(logits, &y, &mut probabilities) as f64 * indices.len() as f64;
            // A sample is right when its prediction — the most probable class, as `ffnn
            // predict`, the web page and Python's `predict` take it — is its label: the
            // accuracy and the confusion matrix count the same answers. (Logits a hair apart
            // can have equal probabilities, in `f32`, and then the first of them is predicted.)
            for (i, &label) in y.iter().enumerate() {
                let best = crate::tensor::argmax(probabilities.row(i));
                chunk.right += usize::from(best == label as usize);
                chunk.predictions.push(best as u8);
                chunk.confidences.push(probabilities.row(i)[best]);
            }
        }
    });
    // Added up in the order of the chunks, as one thread would.
    let total_loss: f64 = chunks.iter().map(|c| c.loss).sum();
    let right: usize = chunks.iter().map(|c| c.right).sum();
    Evaluation {
        loss: (total_loss / data.len().max(1) as f64) as f32,
        accuracy: right as f32 / data.len().max(1) as f32,
        predictions: chunks.iter().flat_map(|c| c.predictions.iter().copied()).collect(),
        confidences: chunks.iter().flat_map(|c| c.confidences.iter().copied()).collect(),
    }
}

/// One chunk's part of an [`Evaluation`]: its summed loss, its right answers, and its samples'
/// predictions and confidences.
#[derive(Clone, Debug, Default)]
struct ChunkEvaluation {
    loss: f64,
    right: usize,
    predictions: Vec<u8>,
    confidences: Vec<f32>,
}
