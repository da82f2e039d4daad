//! `ffnn train`: a preset, overridden by any flag given; a progress bar; a run folder.

use crate::data::load_dataset;
use crate::error::{Error, Result};
use crate::nn::model_file::save_model;
use crate::nn::{Activation, Init};
use crate::optim::Optimizer;
use crate::train::{Event, Length, Preset, TrainConfig, evaluate, train_model};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Dataset: an IDX folder, a folder with train/ and test/ PNG trees, or a .zip of one
    /// [default: $FFNN_DATA, else ./data/mnist]
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Starting configuration; any flag below overrides its part of it.
    /// one-layer (alias softmax): Exercise 1.3; mlp: Exercise 1.4; wide: 784-800-10.
    #[arg(long, value_enum, default_value = "mlp")]
    pub preset: Preset,
    /// Hidden layer sizes, comma-separated, e.g. 256,128; empty ("") for softmax regression.
    #[arg(long, value_name = "SIZES", value_parser = parse_hidden)]
    pub hidden: Option<Hidden>,
    /// Hidden-layer activation.
    #[arg(long, value_enum)]
    pub activation: Option<Activation>,
    /// Update rule.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerName>,
    /// Learning rate α.
    #[arg(long, value_name = "ALPHA", allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// Momentum μ (for --optimizer momentum).
    #[arg(long, value_name = "MU", default_value_t = 0.9, allow_negative_numbers = true)]
    pub momentum: f32,
    /// Samples per mini-batch.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Passes over the training set.
    #[arg(long, value_name = "N", conflicts_with = "iterations")]
    pub epochs: Option<usize>,
    /// Optimizer steps (instead of --epochs).
    #[arg(long, value_name = "N")]
    pub iterations: Option<usize>,
    /// Evaluate on the test set every K iterations (0: only at the end).
    #[arg(long, value_name = "K")]
    pub eval_every: Option<usize>,
    /// Weight initialization.
    #[arg(long, value_enum)]
    pub init: Option<InitName>,
    /// σ of --init normal.
    #[arg(long, value_name = "SIGMA", default_value_t = 0.01, allow_negative_numbers = true)]
    pub init_std: f32,
    /// Random seed: fixes initialization and batch order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Run folder [default: runs/<date>_<time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON line with the results on stdout at the end.
    #[arg(long)]
    pub json: bool,
}

/// Hidden layer sizes from the command line.
#[derive(Clone, Debug)]
pub struct Hidden(pub Vec<usize>);

fn parse_hidden(s: &str) -> std::result::Result<Hidden, String> {
    if s.trim().is_empty() {
        return Ok(Hidden(vec![]));
    }
    s.split(',')
        .map(|v| match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{v:?} is not a layer size (expected positive whole numbers separated by commas, e.g. 256,128)")),
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Hidden)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerName {
    Sgd,
    Momentum,
    Adam,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum InitName {
    /// N(0, σ²) with σ = --init-std (0.01), zero biases: the seed's.
    Normal,
    /// N(0, 2/fan_in), zero biases.
    He,
    /// N(0, 2/(fan_in + fan_out)), zero biases.
    Glorot,
    /// U(±1/√fan_in) for weights and biases: PyTorch's nn.Linear.
    Torch,
}

impl TrainArgs {
    /// The preset's configuration with every given flag applied.
    pub fn config(&self) -> Result<TrainConfig> {
        let mut c = self.preset.config();
        if let Some(h) = &self.hidden {
            c.hidden = h.0.clone();
        }
        if let Some(a) = self.activation {
            c.activation = a;
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(Error::invalid("--momentum must be in [0, 1)"));
        }
        if let Some(o) = self.optimizer {
            c.optimizer = match o {
                OptimizerName::Sgd => Optimizer::Sgd,
                OptimizerName::Momentum => Optimizer::Momentum { momentum: self.momentum },
                OptimizerName::Adam => Optimizer::adam(),
            };
        } else if let Optimizer::Momentum { momentum } = &mut c.optimizer {
            *momentum = self.momentum;
        }
        if let Some(lr) = self.lr {
            c.learning_rate = lr;
        }
        if let Some(b) = self.batch_size {
            c.batch_size = b;
        }
        if let Some(e) = self.epochs {
            c.length = Length::Epochs(e);
        }
        if let Some(i) = self.iterations {
            c.length = Length::Iterations(i);
        }
        if let Some(k) = self.eval_every {
            c.eval_every = k;
        }
        if !(self.init_std.is_finite() && self.init_std > 0.0) {
            return Err(Error::invalid("--init-std must be a positive number"));
        }
        if let Some(i) = self.init {
            c.init = match i {
                InitName::Normal => Init::Normal { std: self.init_std },
                InitName::He => Init::He,
                InitName::Glorot => Init::Glorot,
                InitName::Torch => Init::Torch,
            };
        }
        c.seed = self.seed;
        c.validate()?;
        Ok(c)
    }
}

/// The results line of `--json` (and `summary.json` in the run folder).
#[derive(Serialize, Debug)]
pub struct Summary {
    pub preset: &'static str,
    pub architecture: String,
    pub parameters: usize,
    pub config: TrainConfig,
    pub threads: usize,
    pub data: PathBuf,
    pub run_dir: PathBuf,
    pub test_accuracy: f32,
    pub test_loss: f32,
    /// On the whole training set after training.
    pub train_accuracy: f32,
    pub train_loss: f32,
    pub epochs: f64,
    pub iterations: usize,
    /// The training loop alone: no data loading, evaluation or I/O.
    pub train_seconds: f64,
    pub samples_per_second: f64,
    /// The process's peak resident memory in MB (Linux; null elsewhere).
    pub peak_rss_mb: Option<f64>,
}

/// Peak resident set size of this process so far (`VmHWM` in `/proc/self/status`), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Creates the run folder: `out` if given, else `runs/<date>_<time>` (with a suffix if taken).
fn create_run_dir(out: Option<&Path>) -> Result<PathBuf> {
    let dir = match out {
        Some(p) => p.to_path_buf(),
        None => {
            let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S").to_string();
            let mut dir = PathBuf::from("runs").join(&stamp);
            let mut n = 2;
            while dir.exists() {
                dir = PathBuf::from("runs").join(format!("{stamp}-{n}"));
                n += 1;
            }
            dir
        }
    };
    if dir.exists() && !dir.is_dir() {
        return Err(Error::file(&dir, "--out exists and is not a folder"));
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::file(&dir, format!("cannot create the run folder (--out): {e}")))?;
    // Prove it is writable now rather than after training.
    let probe = dir.join(".ffnn-write-test");
    std::fs::write(&probe, b"").map_err(|e| Error::file(&dir, format!("the run folder (--out) is not writable: {e}")))?;
    let _ = std::fs::remove_file(probe);
    Ok(dir)
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let threads = super::set_threads(args.threads)?;
    let config = args.config()?;
    let data_path = super::resolve_data(args.data.as_deref())?;
    let data = load_dataset(&data_path)?;
    let run_dir = create_run_dir(args.out.as_deref())?;
    if !args.json {
        eprintln!(
            "ffnn: training on {} ({} train / {} test images of {}×{}, {} classes), {} threads, run folder {}",
            data_path.display(),
            data.train.len(),
            data.test.len(),
            data.train.width,
            data.train.height,
            data.classes(),
            threads,
            run_dir.display()
        );
    }

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} it  {msg}  [{elapsed_precise} < {eta_precise}]")
            .expect("valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    let mut last_test = String::new();
    let mut observe = |event: Event| match event {
        Event::Step { iteration, total_iterations, epoch, loss, accuracy } => {
            if iteration == 1 {
                bar.set_length(total_iterations as u64);
            }
            if iteration % 10 == 0 || iteration == total_iterations {
                bar.set_position(iteration as u64);
                bar.set_message(format!("epoch {epoch}  loss {loss:.4}  acc {:5.1}%{last_test}", accuracy * 100.0));
            }
        }
        Event::Evaluated(row) => {
            if let (Some(l), Some(a)) = (row.test_loss, row.test_accuracy) {
                last_test = format!("  test loss {l:.4}  test acc {:5.2}%", a * 100.0);
            }
        }
    };
    let result = train_model(&data.train, Some(&data.test), &config, &mut observe)?;
    bar.finish_and_clear();

    let test = evaluate(&result.model, &data.test);
    let train = evaluate(&result.model, &data.train);
    let model = &result.model;
    let summary = Summary {
        preset: args.preset.name(),
        architecture: model.describe(),
        parameters: model.parameter_count(),
        config,
        threads,
        data: data_path,
        run_dir: run_dir.clone(),
        test_accuracy: test.accuracy,
        test_loss: test.loss,
        train_accuracy: train.accuracy,
        train_loss: train.loss,
        epochs: result.epochs,
        iterations: result.iterations,
        train_seconds: result.train_seconds,
        samples_per_second: result.samples as f64 / result.train_seconds.max(1e-9),
        peak_rss_mb: peak_rss_mb(),
    };

    let mut meta = BTreeMap::new();
    meta.insert("ffnn.test_accuracy".to_string(), format!("{}", test.accuracy));
    save_model(model, &run_dir.join("model.safetensors"), &meta)?;
    result.history.write_csv(&run_dir.join("history.csv"))?;
    crate::plot::plot_history(&result.history, &run_dir)?;
    crate::plot::write_weight_image(model, &run_dir.join("weights.png"))?;
    let json = serde_json::to_string(&summary)?;
    crate::atomic_file::write_atomic(&run_dir.join("summary.json"), json.as_bytes())?;

    if args.json {
        println!("{json}");
    } else {
        eprintln!(
            "{}: test accuracy {:.2}% (loss {:.4}), train accuracy {:.2}% (loss {:.4})",
            summary.architecture,
            test.accuracy * 100.0,
            test.loss,
            train.accuracy * 100.0,
            train.loss
        );
        eprintln!(
            "{} iterations ({:.1} epochs) in {:.2} s of training, {:.0} samples/s",
            result.iterations, result.epochs, result.train_seconds, summary.samples_per_second
        );
        eprintln!(
            "wrote {}/: model.safetensors, history.csv, cost.png/.svg, accuracy.png/.svg, weights.png, summary.json",
            run_dir.display()
        );
    }
    Ok(())
}
