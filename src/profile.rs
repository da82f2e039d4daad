//! `ffnn bench --profile`: one epoch of a configuration, its training step split into parts,
//! each with its time and what it achieved (GFLOP/s, or GB/s for the passes limited by memory)
//! beside the machine's limit for it (the GEMM peak, the memory-copy bandwidth).
//!
//! The step is the seed's (`train_model`'s): `random_mini_batches` → gather → `model_forward`
//! → `compute_loss` → `model_backward` → `update_parameters`, with evaluation on the test set
//! every 100 iterations. Here its pieces are called one by one, with a clock around each:
//! the same library calls in the same order, so the profiled run trains the same network bit
//! for bit as `train_model` (a test checks it). Configurations with dropout, label smoothing,
//! an L2 penalty or augmentation are not profiled (the benchmark's configs have none).

use ffnn::data::{Samples, random_mini_batches};
use ffnn::error::{Error, Result};
use ffnn::nn::{
    Gradients, Listing, Model, SparseInput, activation_backward, activation_forward, input_linear_backward, linear_backward,
    linear_forward, softmax_cross_entropy_backward,
};
use ffnn::optim::{Optimizer, update_parameters};
use ffnn::sparse::csr_matmul;
use ffnn::tensor::Matrix;
use ffnn::train::{Checkpoint, TrainConfig, evaluate, gather_batch, initialize_run, packed_training_set};
use serde::Serialize;
use std::time::Instant;

/// The parts of a step, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Gather,
    SparseBuild,
    FirstForward,
    Forward,
    Activations,
    Loss,
    Backward,
    ActivationBackward,
    FirstBackward,
    Optimizer,
    Evaluation,
}

const PARTS: [Part; 11] = [
    Part::Gather,
    Part::SparseBuild,
    Part::FirstForward,
    Part::Forward,
    Part::Activations,
    Part::Loss,
    Part::Backward,
    Part::ActivationBackward,
    Part::FirstBackward,
    Part::Optimizer,
    Part::Evaluation,
];

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Gather => "gather the batch: X by its non-zero pixels, from the packed images (or dense, ÷ 255)",
            Part::SparseBuild => "list the transpose Xᵀ (and X of a dense batch)",
            Part::FirstForward => "first layer forward, X·W₁ + b₁",
            Part::Forward => "other layers forward, A·W + b (GEMM)",
            Part::Activations => "activations h(Z)",
            Part::Loss => "softmax, loss and dZ_L = (P − Y)/n",
            Part::Backward => "other layers backward, dW = Aᵀ·dZ, dA = dZ·Wᵀ, db (GEMM)",
            Part::ActivationBackward => "activation derivatives dA ⊙ h′",
            Part::FirstBackward => "first layer backward, dW₁ = Xᵀ·dZ₁, db₁",
            Part::Optimizer => "update_parameters",
            Part::Evaluation => "test-set evaluation every 100 iterations",
        }
    }
}

/// What a part achieved, and against which limit.
#[derive(Clone, Debug, Serialize)]
pub struct PartRow {
    /// What the part does.
    pub part: &'static str,
    /// Seconds over the epoch.
    pub seconds: f64,
    /// Its share of the epoch's measured time.
    pub share: f64,
    /// `GFLOP/s` for the products, `GB/s` for the passes over memory, `None` for the small rest.
    pub unit: Option<&'static str>,
    /// What it achieved in that unit.
    pub achieved: Option<f64>,
    /// The machine's limit in that unit at this thread count: the GEMM peak, or the bandwidth
    /// of a copy through main memory (passes over data that stays in the caches, such as one
    /// batch's activations, run faster than that).
    pub limit: Option<f64>,
}

/// One epoch of one configuration, part by part.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    pub config: String,
    pub threads: usize,
    /// The epoch's time: the sum of the parts.
    pub seconds: f64,
    pub parts: Vec<PartRow>,
    /// Test accuracy after the epoch.
    pub test_accuracy: f32,
}

/// The machine's limits at the current thread count.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Limits {
    /// f32 GEMM rate, GFLOP/s (`gemm` crate, 1024³).
    pub gemm_gflops: f64,
    /// Bytes read plus written per second by a large copy, GB/s.
    pub copy_gb_per_s: f64,
}

/// Measures [`Limits`] with the current thread count.
pub fn measure_limits() -> Limits {
    let gemm_gflops = crate::bench::gemm_gflops(1024, 3);
    // A copy four times larger than the caches, split between the threads, best of 5.
    let n = 64 << 20;
    let src = vec![1.0f32; n / 4];
    let mut dst = vec![0.0f32; n / 4];
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        ffnn::parallel::for_each_zip_mut(&mut dst, &src, &|d, s| d.copy_from_slice(s));
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&dst);
    Limits { gemm_gflops, copy_gb_per_s: 2.0 * n as f64 / best / 1e9 }
}

/// Work done by the parts over the epoch: FLOP of the products, bytes of the passes.
#[derive(Default)]
struct Work {
    flop: [f64; 11],
    bytes: [f64; 11],
}

/// Trains `config` for one epoch on `train` with a clock around every part of the step, and
/// returns the profile and the trained network.
pub fn profile_epoch(
    name: &str,
    train: &dyn Samples,
    test: &dyn Samples,
    config: &TrainConfig,
    limits: Limits,
) -> Result<(Profile, Model)> {
    if config.dropout > 0.0 || config.label_smoothing > 0.0 || config.l2 > 0.0 || config.augment.is_some() {
        return Err(Error::invalid("the profile takes configurations without dropout, label smoothing, L2 or augmentation"));
    }
    let mut run: Checkpoint = initialize_run(train, config)?;
    let per_epoch = train.len().div_ceil(config.batch_size);
    let mut rng = run.epoch_rng.clone();
    let batches = random_mini_batches(train.len(), config.batch_size, &mut rng);
    let layers = run.model.layers.len();
    // What one evaluation computes: the first layer on the test set's non-zero pixels when it
    // takes the sparse path (as it does for MNIST), every other product in full.
    let evaluation_flop = {
        let (mut all, mut labels) = (Matrix::default(), Vec::new());
        test.gather(&(0..test.len()).collect::<Vec<_>>(), &mut all, &mut labels);
        let density = all.data.iter().filter(|&&v| v != 0.0).count() as f64 / all.data.len().max(1) as f64;
        let first = &run.model.layers[0];
        let sparse = density <= ffnn::sparse::MAX_DENSITY as f64;
        let first_flop = (first.inputs() * first.outputs()) as f64 * if sparse { density } else { 1.0 };
        let rest: usize = run.model.layers[1..].iter().map(|l| l.inputs() * l.outputs()).sum();
        2.0 * (first_flop + rest as f64) * test.len() as f64
    };
    let (mut x, mut y) = (Matrix::default(), Vec::new());
    let mut outputs = vec![Matrix::default(); layers];
    let mut sparse = SparseInput::default();
    // As `train_model` does: a sparse training set is listed from its packed form.
    let packed = packed_training_set(train, config);
    let mut grads = Gradients::for_model(&run.model);
    let mut seconds = [0.0f64; 11];
    let mut work = Work::default();
    let mut lap = |part: Part, clock: &mut Instant| {
        let now = Instant::now();
        seconds[part as usize] += (now - *clock).as_secs_f64();
        *clock = now;
    };
    let bytes_per_parameter = match config.optimizer {
        Optimizer::Sgd => 12.0,
        Optimizer::Momentum { .. } => 20.0,
        Optimizer::Adam { .. } => 28.0,
    };
    let mut upcoming = batches.iter().enumerate().peekable();
    while let Some((iteration, batch)) = upcoming.next() {
        run.optimizer.learning_rate = config.schedule.learning_rate(config.learning_rate, iteration, per_epoch, per_epoch);
        let mut clock = Instant::now();
        // model_forward's first layer takes the sparse path when input_linear_forward would
        // (see `ffnn::nn::linear`): the batch is listed straight from the dataset's bytes as
        // train_model lists it, or gathered and then listed.
        let model = &run.model;
        let first = &model.layers[0];
        let listed = gather_batch(train, packed.as_ref(), batch, first.outputs(), &mut x, &mut y, &mut sparse);
        let too_dense = std::mem::take(&mut sparse.listing) == Listing::TooDense;
        // As `train_model` does: the next batch's samples start coming from memory.
        if let Some((_, next)) = upcoming.peek() {
            match &packed {
                Some(packed) => packed.prefetch(next),
                None => train.prefetch(next),
            }
        }
        lap(Part::Gather, &mut clock);
        let n = y.len() as f64;
        let inputs = first.inputs() as f64;
        // Listed: the bytes read (the packed rows' masks and non-zero bytes, or every byte) and
        // the (index, value) pairs written; else the f32 batch written.
        let entries = sparse.x.entries.len() as f64;
        let bytes_read = if packed.is_some() { n * 8.0 * (inputs / 64.0).ceil() + entries } else { n * inputs };
        work.bytes[Part::Gather as usize] += if listed { bytes_read + 8.0 * entries } else { 4.0 * n * inputs };

        // (As the forward pass decides: a batch counted too dense is not counted again.)
        let dense_listed = !listed && !too_dense && sparse.list_dense(&x, first.outputs());
        let sparse_path = listed || dense_listed;
        sparse.in_use = sparse_path;
        let transposed = sparse.needs_transpose(first.outputs());
        if transposed {
            grads.input_t.fill_transpose_of(&sparse.x);
        }
        lap(Part::SparseBuild, &mut clock);
        let nnz = sparse.x.entries.len() as f64;
        // The dense batch read (when it was gathered), and Xᵀ (and X) written as (index, value) pairs.
        if !listed {
            work.bytes[Part::SparseBuild as usize] += 4.0 * n * inputs + if sparse_path { 8.0 * nnz } else { 0.0 };
        }
        if transposed {
            work.bytes[Part::SparseBuild as usize] += 16.0 * nnz;
        }
        if sparse_path {
            csr_matmul(&sparse.x, &first.weight, Some(&first.bias), &mut outputs[0]);
            work.flop[Part::FirstForward as usize] += 2.0 * nnz * first.outputs() as f64;
        } else {
            linear_forward(&x, &first.weight, &first.bias, &mut outputs[0]);
            work.flop[Part::FirstForward as usize] += 2.0 * n * (first.inputs() * first.outputs()) as f64;
        }
        lap(Part::FirstForward, &mut clock);
        for l in 0..layers {
            if l > 0 {
                let (before, from_l) = outputs.split_at_mut(l);
                let layer = &model.layers[l];
                linear_forward(&before[l - 1], &layer.weight, &layer.bias, &mut from_l[0]);
                lap(Part::Forward, &mut clock);
                work.flop[Part::Forward as usize] += 2.0 * n * (layer.inputs() * layer.outputs()) as f64;
            }
            if l + 1 < layers {
                activation_forward(&mut outputs[l], model.activation);
                lap(Part::Activations, &mut clock);
                work.bytes[Part::Activations as usize] += 8.0 * outputs[l].data.len() as f64;
            }
        }

        // model_backward, whose first step also gives train_model the cost (`compute_loss`).
        let logits = &outputs[layers - 1];
        std::hint::black_box(softmax_cross_entropy_backward(logits, &y, 0.0, &mut grads.deltas[layers - 1]));
        lap(Part::Loss, &mut clock);
        for l in (0..layers).rev() {
            let (before, from_l) = grads.deltas.split_at_mut(l);
            let grad = &mut grads.layers[l];
            let layer = &model.layers[l];
            if l == 0 {
                input_linear_backward(&x, &sparse, &grads.input_t, &from_l[0], &mut grad.weight, &mut grad.bias);
                lap(Part::FirstBackward, &mut clock);
                let flop = if sparse_path { 2.0 * nnz } else { 2.0 * n * layer.inputs() as f64 };
                work.flop[Part::FirstBackward as usize] += flop * layer.outputs() as f64;
            } else {
                linear_backward(&outputs[l - 1], &layer.weight, &from_l[0], &mut grad.weight, &mut grad.bias, before.last_mut());
                lap(Part::Backward, &mut clock);
                work.flop[Part::Backward as usize] += 4.0 * n * (layer.inputs() * layer.outputs()) as f64;
                activation_backward(&mut before[l - 1], &outputs[l - 1], model.activation);
                lap(Part::ActivationBackward, &mut clock);
                work.bytes[Part::ActivationBackward as usize] += 12.0 * outputs[l - 1].data.len() as f64;
            }
        }
        update_parameters(&mut run.model, &grads, &mut run.optimizer);
        lap(Part::Optimizer, &mut clock);
        work.bytes[Part::Optimizer as usize] += bytes_per_parameter * run.model.parameter_count() as f64;

        if config.eval_every > 0 && (iteration + 1) % config.eval_every == 0 {
            std::hint::black_box(evaluate(&run.model, test));
            lap(Part::Evaluation, &mut clock);
            work.flop[Part::Evaluation as usize] += evaluation_flop;
        }
    }
    let test_accuracy = evaluate(&run.model, test).accuracy;
    let total: f64 = seconds.iter().sum();
    let parts = PARTS
        .iter()
        .map(|&part| {
            let (t, flop, bytes) = (seconds[part as usize], work.flop[part as usize], work.bytes[part as usize]);
            let (unit, achieved, limit) = if flop > 0.0 {
                (Some("GFLOP/s"), Some(flop / t.max(1e-12) / 1e9), Some(limits.gemm_gflops))
            } else if bytes > 0.0 {
                (Some("GB/s"), Some(bytes / t.max(1e-12) / 1e9), Some(limits.copy_gb_per_s))
            } else {
                (None, None, None)
            };
            PartRow { part: part.name(), seconds: t, share: t / total.max(1e-12), unit, achieved, limit }
        })
        .collect();
    let profile = Profile { config: name.to_string(), threads: ffnn::parallel::threads(), seconds: total, parts, test_accuracy };
    Ok((profile, run.model))
}

/// A profile as a markdown table.
pub fn to_markdown(p: &Profile) -> String {
    let mut out = format!(
        "`{}`, {} thread(s): {:.3} s for one epoch, test accuracy {:.2}%\n\n| part | s/epoch | share | achieved | limit (GEMM peak, memory copy) | of the limit |\n|---|---|---|---|---|---|\n",
        p.config,
        p.threads,
        p.seconds,
        p.test_accuracy * 100.0
    );
    for r in &p.parts {
        let (achieved, limit, fraction) = match (r.unit, r.achieved, r.limit) {
            (Some(unit), Some(a), Some(l)) => {
                (format!("{a:.1} {unit}"), format!("{l:.1} {unit}"), format!("{:.0}%", 100.0 * a / l))
            }
            _ => ("–".into(), "–".into(), "–".into()),
        };
        out += &format!("| {} | {:.4} | {:.1}% | {achieved} | {limit} | {fraction} |\n", r.part, r.seconds, 100.0 * r.share);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffnn::data::Dataset;
    use ffnn::train::{Length, train_model};
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_profiled_epoch_trains_the_network_train_model_trains() {
        // Mostly-zero images (the sparse first layer) and a dense first batch shape too.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let data = Dataset {
            images: (0..700 * 64).map(|_| if rng.random_bool(0.2) { rng.random() } else { 0 }).collect(),
            labels: (0..700).map(|i| (i % 4) as u8).collect(),
            height: 8,
            width: 8,
        };
        let limits = Limits { gemm_gflops: 1.0, copy_gb_per_s: 1.0 };
        for (hidden, optimizer) in
            [(vec![32, 16], Optimizer::adam()), (vec![], Optimizer::Sgd), (vec![20], Optimizer::Momentum { momentum: 0.9 })]
        {
            let config = TrainConfig {
                hidden,
                optimizer,
                learning_rate: 0.01,
                batch_size: 64,
                length: Length::Epochs(1),
                eval_every: 5,
                init: ffnn::nn::Init::He,
                ..TrainConfig::default()
            };
            let expected = train_model(&data, None, &config, &mut |_| {}).unwrap().model;
            let (profile, model) = profile_epoch("t", &data, &data, &config, limits).unwrap();
            assert_eq!(model, expected, "{config:?}");
            assert_eq!(profile.parts.len(), 11);
            assert!((profile.parts.iter().map(|p| p.share).sum::<f64>() - 1.0).abs() < 1e-9);
        }
        let regularized = TrainConfig { dropout: 0.1, ..TrainConfig::default() };
        assert!(profile_epoch("t", &data, &data, &regularized, limits).is_err());
    }
}
