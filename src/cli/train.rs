//! `ffnn train`: a preset, overridden by any flag given; a progress bar; a run folder.

use clap::{Args, ValueEnum};
use ffnn::data::load_dataset;
use ffnn::error::{Error, Result};
use ffnn::nn::{Activation, Init};
use ffnn::optim::Optimizer;
use ffnn::train::run_dir::{self, Summary, meta};
use ffnn::train::{
    Checkpoint, CheckpointPolicy, Event, Length, Preset, Schedule, TrainConfig, TrainControl, evaluate, train_model_with,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// Dataset: an IDX folder, a folder with train/ and test/ PNG trees, or a .zip of one
    /// [default: $FFNN_DATA, else ./data/mnist]
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Starting configuration; any flag below overrides its part of it.
    /// one-layer (alias softmax): Exercise 1.3; mlp: Exercise 1.4; wide: 784-800-10.
    #[arg(long, value_enum, default_value = "mlp")]
    pub preset: PresetName,
    /// Hidden layer sizes, comma-separated, e.g. 256,128; empty ("") for softmax regression.
    #[arg(long, value_name = "SIZES", value_parser = parse_hidden)]
    pub hidden: Option<Hidden>,
    /// Hidden-layer activation.
    #[arg(long, value_enum)]
    pub activation: Option<ActivationName>,
    /// Update rule.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerName>,
    /// Learning rate α.
    #[arg(long, value_name = "ALPHA", value_parser = super::number)]
    pub lr: Option<f32>,
    /// Momentum μ (for --optimizer momentum).
    #[arg(long, value_name = "MU", default_value_t = 0.9, value_parser = super::number)]
    pub momentum: f32,
    /// Samples per mini-batch.
    #[arg(long, value_name = "N", value_parser = super::whole_number)]
    pub batch_size: Option<usize>,
    /// Passes over the training set.
    #[arg(long, value_name = "N", conflicts_with = "iterations", value_parser = super::whole_number)]
    pub epochs: Option<usize>,
    /// Optimizer steps (instead of --epochs).
    #[arg(long, value_name = "N", value_parser = super::whole_number)]
    pub iterations: Option<usize>,
    /// Evaluate on the test set every K iterations (0: only at the end).
    #[arg(long, value_name = "K", value_parser = super::whole_number)]
    pub eval_every: Option<usize>,
    /// Learning-rate schedule: constant; step (×--lr-gamma every --lr-step-epochs); cosine
    /// (to 0, after --warmup); one-cycle (warm up from α/25 over --warmup, then cosine down);
    /// restarts (--cycles cosine cycles, each --cycle-mult times as long as the last, each with --warmup).
    #[arg(long, value_enum)]
    pub lr_schedule: Option<ScheduleName>,
    /// Cycles of the restarts schedule.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub cycles: u32,
    /// How much longer each cycle of the restarts schedule is than the one before.
    #[arg(long, value_name = "M", default_value_t = 2.0, value_parser = super::number)]
    pub cycle_mult: f32,
    /// Warm-up as a fraction of the run (cosine: default 0; one-cycle: default 0.3).
    #[arg(long, value_name = "FRACTION", value_parser = super::number)]
    pub warmup: Option<f32>,
    /// Epochs between learning-rate drops (step schedule).
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = super::whole_number)]
    pub lr_step_epochs: usize,
    /// Factor of each drop (step schedule).
    #[arg(long, value_name = "GAMMA", default_value_t = 0.1, value_parser = super::number)]
    pub lr_gamma: f32,
    /// Decoupled weight decay λ (with Adam: AdamW).
    #[arg(long, value_name = "LAMBDA", value_parser = super::number)]
    pub weight_decay: Option<f32>,
    /// Label smoothing ε.
    #[arg(long, value_name = "EPS", value_parser = super::number)]
    pub label_smoothing: Option<f32>,
    /// Inverted dropout rate on hidden activations.
    #[arg(long, value_name = "P", value_parser = super::number)]
    pub dropout: Option<f32>,
    /// Hold out N training images (drawn with --seed) as a validation set, evaluated with the
    /// test set; choose settings by it, not by the test set.
    #[arg(long, value_name = "N", value_parser = super::whole_number)]
    pub val: Option<usize>,
    /// Distort every training batch at random (affine + elastic; defaults: ±12°, ±10% scale,
    /// ±10° shear, ±2.5 px, elastic α 34 σ 6). Any of the flags below also turns it on.
    #[arg(long)]
    pub augment: bool,
    /// Augmentation: rotation range, degrees.
    #[arg(long, value_name = "DEG", value_parser = super::number)]
    pub rotate: Option<f32>,
    /// Augmentation: scale range (0.1 = ±10%).
    #[arg(long, value_name = "FRACTION", value_parser = super::number)]
    pub scale: Option<f32>,
    /// Augmentation: shear range, degrees.
    #[arg(long, value_name = "DEG", value_parser = super::number)]
    pub shear: Option<f32>,
    /// Augmentation: translation range, pixels.
    #[arg(long, value_name = "PX", value_parser = super::number)]
    pub translate: Option<f32>,
    /// Augmentation: elastic distortion strength α, pixels (0: no elastic distortion).
    #[arg(long, value_name = "ALPHA", value_parser = super::number)]
    pub elastic_alpha: Option<f32>,
    /// Augmentation: elastic smoothing width σ, pixels.
    #[arg(long, value_name = "SIGMA", value_parser = super::number)]
    pub elastic_sigma: Option<f32>,
    /// Turn off augmentation a preset turns on.
    #[arg(long, conflicts_with = "augment")]
    pub no_augment: bool,
    /// Weight initialization.
    #[arg(long, value_enum)]
    pub init: Option<InitName>,
    /// σ of --init normal.
    #[arg(long, value_name = "SIGMA", default_value_t = 0.01, value_parser = super::number)]
    pub init_std: f32,
    /// Random seed: fixes initialization and batch order.
    #[arg(long, default_value_t = 1, value_parser = super::seed)]
    pub seed: u64,
    /// Threads [default: all cores].
    #[arg(long, value_name = "N", value_parser = super::whole_number)]
    pub threads: Option<usize>,
    /// Run folder [default: runs/DATE_TIME]. A folder with files in it is refused unless
    /// --overwrite is given.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the run files of an earlier run in --out (the model, checkpoint, history, plots,
    /// summary and report it holds are deleted before training; other files stay).
    #[arg(long, requires = "out")]
    pub overwrite: bool,
    /// Print one JSON line with the results on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Serve a page with the live curves, the progress and a button to stop training cleanly
    /// [default address: 127.0.0.1:8000].
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8000")]
    pub serve: Option<String>,
    /// Write a checkpoint every N epochs (0: never) [default: at the end of an epoch once a
    /// minute of training has passed since the last one].
    #[arg(long, value_name = "N", value_parser = super::whole_number)]
    pub checkpoint_every: Option<usize>,
    /// Continue the run in DIR from its checkpoint (same settings, data and threads;
    /// --epochs/--iterations may set a new length).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["preset", "overwrite", "hidden", "activation", "optimizer", "lr", "momentum", "batch_size", "eval_every", "init", "init_std", "seed", "out", "lr_schedule", "cycles", "cycle_mult", "warmup", "weight_decay", "label_smoothing", "dropout", "val", "augment", "no_augment", "rotate", "scale", "shear", "translate", "elastic_alpha", "elastic_sigma"])]
    pub resume: Option<PathBuf>,
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

/// `--preset`: the library's [`Preset`]s by their command-line names.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PresetName {
    /// Exercise 1.3: softmax regression (the benchmark's `softmax`).
    #[value(alias = "softmax")]
    OneLayer,
    /// Exercise 1.4: 784-512-256-10.
    Mlp,
    /// 784-800-10 with momentum.
    Wide,
    /// 784-800-800-10 with augmentation: the most accurate.
    Best,
    /// 784-256-128-10, 3 epochs of one-cycle Adam: 98% in under a second.
    Fast,
    /// 784-800-10 with best's augmentation, 14 epochs of one-cycle AdamW: 99% within 25 s.
    BestShort,
}

impl PresetName {
    /// The library's preset.
    pub fn preset(self) -> Preset {
        match self {
            PresetName::OneLayer => Preset::OneLayer,
            PresetName::Mlp => Preset::Mlp,
            PresetName::Wide => Preset::Wide,
            PresetName::Best => Preset::Best,
            PresetName::Fast => Preset::Fast,
            PresetName::BestShort => Preset::BestShort,
        }
    }
}

/// `--activation`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ActivationName {
    Relu,
    Sigmoid,
}

/// `--optimizer`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerName {
    Sgd,
    Momentum,
    Adam,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScheduleName {
    Constant,
    Step,
    Cosine,
    OneCycle,
    Restarts,
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
    /// The preset's configuration with every given flag applied, checked
    /// ([`TrainConfig::validate`] says which flag is out of range and what is valid).
    pub fn config(&self) -> Result<TrainConfig> {
        let mut c = self.preset.preset().config();
        if let Some(h) = &self.hidden {
            c.hidden = h.0.clone();
        }
        if let Some(a) = self.activation {
            c.activation = match a {
                ActivationName::Relu => Activation::Relu,
                ActivationName::Sigmoid => Activation::Sigmoid,
            };
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
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::invalid("--momentum must be in [0, 1)"));
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
        if self.init_std <= 0.0 {
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
        const WARMUP_APPLIES: &str =
            "--warmup applies to the cosine, one-cycle and restarts schedules: add --lr-schedule cosine (or one-cycle, restarts)";
        if let Some(name) = self.lr_schedule {
            if self.warmup.is_some() && matches!(name, ScheduleName::Constant | ScheduleName::Step) {
                return Err(Error::invalid(WARMUP_APPLIES));
            }
            let warmup = self.warmup.unwrap_or(if matches!(name, ScheduleName::OneCycle) { 0.3 } else { 0.0 });
            c.schedule = match name {
                ScheduleName::Constant => Schedule::Constant,
                ScheduleName::Step => Schedule::Step { every_epochs: self.lr_step_epochs, gamma: self.lr_gamma },
                ScheduleName::Cosine => Schedule::Cosine { warmup_fraction: warmup },
                ScheduleName::OneCycle => Schedule::OneCycle { warmup_fraction: warmup.max(1e-3) },
                ScheduleName::Restarts => {
                    Schedule::Restarts { cycles: self.cycles, multiplier: self.cycle_mult, warmup_fraction: warmup }
                }
            };
        } else if let Some(w) = self.warmup {
            // A warm-up for the preset's own schedule.
            match &mut c.schedule {
                Schedule::Cosine { warmup_fraction }
                | Schedule::OneCycle { warmup_fraction }
                | Schedule::Restarts { warmup_fraction, .. } => *warmup_fraction = w,
                Schedule::Constant | Schedule::Step { .. } => {
                    return Err(Error::invalid(WARMUP_APPLIES));
                }
            }
        }
        if let Some(w) = self.weight_decay {
            c.weight_decay = w;
        }
        if let Some(e) = self.label_smoothing {
            c.label_smoothing = e;
        }
        if let Some(p) = self.dropout {
            c.dropout = p;
        }
        let flags = [self.rotate, self.scale, self.shear, self.translate, self.elastic_alpha, self.elastic_sigma];
        if self.augment || flags.iter().any(Option::is_some) {
            let mut a = c.augment.unwrap_or_default();
            let fields =
                [&mut a.rotation, &mut a.scale, &mut a.shear, &mut a.translate, &mut a.elastic_alpha, &mut a.elastic_sigma];
            for (field, flag) in fields.into_iter().zip(flags) {
                if let Some(v) = flag {
                    *field = v;
                }
            }
            c.augment = Some(a);
        }
        if self.no_augment {
            c.augment = None;
        }
        c.seed = self.seed;
        c.validate()?;
        Ok(c)
    }
}

/// Ctrl-C: the first press asks training to stop after the current step; the second exits at once.
static STOP: AtomicBool = AtomicBool::new(false);
static PRESSES: AtomicUsize = AtomicUsize::new(0);

fn install_ctrl_c(quiet: bool) {
    let _ = ctrlc::set_handler(move || {
        if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
            STOP.store(true, Ordering::SeqCst);
            if !quiet {
                eprintln!("\nstopping after this step and writing a checkpoint (Ctrl-C again to quit at once)");
            }
        } else {
            // The checkpoint on disk is whole: it is only ever replaced by an atomic rename.
            std::process::exit(130);
        }
    });
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    // A resumed run takes its configuration, data and threads from the checkpoint.
    let resumed = match &args.resume {
        Some(dir) => {
            let (checkpoint, meta) = Checkpoint::load(&dir.join(run_dir::CHECKPOINT))?;
            Some((dir.clone(), checkpoint, meta))
        }
        None => None,
    };
    let stored = |key: &str| resumed.as_ref().and_then(|(_, _, meta)| meta.get(key).cloned());
    let threads_flag = args.threads.or_else(|| stored(meta::THREADS).and_then(|t| t.parse().ok()));
    let threads = super::set_threads(threads_flag)?;
    let mut config = match &resumed {
        Some((_, c, _)) => c.config.clone(),
        None => args.config()?,
    };
    if let Some(e) = args.epochs {
        config.length = Length::Epochs(e);
    }
    if let Some(i) = args.iterations {
        config.length = Length::Iterations(i);
    }
    config.validate()?;
    if let Some(out) = &args.out {
        run_dir::check(out, args.overwrite)?;
    }
    let data_flag = args.data.clone().or_else(|| stored(meta::DATA).map(PathBuf::from));
    let data_path = super::resolve_data(data_flag.as_deref())?;
    let mut data = load_dataset(&data_path)?;
    let fingerprint = data.fingerprint();
    if let Some(trained_sha256) = stored(meta::DATA_SHA256)
        && trained_sha256 != fingerprint
    {
        return Err(Error::DataMismatch {
            given: data_path,
            trained_on: stored(meta::DATA).unwrap_or_else(|| "other data".into()),
            trained_sha256,
            given_sha256: fingerprint,
        }
        .into());
    }
    if resumed.is_none() && config.batch_size > data.train.len() {
        eprintln!(
            "ffnn: --batch-size {} is more than the {} training images; using {} (every step sees the whole set)",
            config.batch_size,
            data.train.len(),
            data.train.len()
        );
        config.batch_size = data.train.len();
    }
    // A validation set held out of the training set (its size is recorded with the checkpoint).
    let val = args.val.or_else(|| stored(meta::VAL).and_then(|v| v.parse().ok())).unwrap_or(0);
    let validation = data.hold_out_validation(val, config.seed, config.batch_size)?;
    ffnn::train::memory::check(
        &config,
        data.train.pixels(),
        data.train.classes(),
        data.train.len(),
        ffnn::train::memory::available(),
    )?;
    let run_dir = match &resumed {
        Some((dir, _, _)) => dir.clone(),
        None => run_dir::create(args.out.as_deref(), args.overwrite)?,
    };
    // Recorded absolute, so `ffnn report` and `--resume` find it from any folder.
    let data_path = std::path::absolute(&data_path).unwrap_or(data_path);
    let preset_name = stored(meta::PRESET).unwrap_or_else(|| args.preset.preset().name().to_string());
    if let Some(aug) = &config.augment {
        crate::plot::write_augmented_preview(&data.train, aug, config.seed, &run_dir.join("augmented.png"))?;
    }
    if !args.json {
        eprintln!(
            "ffnn: {} on {} at {} ({} train / {} test images of {}×{}; {}), {} threads, run folder {}",
            if resumed.is_some() { "resuming training" } else { "training" },
            data.class_names.dataset,
            data_path.display(),
            data.train.len(),
            data.test.len(),
            data.train.width,
            data.train.height,
            classes_shown(&data.class_names),
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
    let live = match &args.serve {
        Some(addr) => {
            let live = std::sync::Arc::new(std::sync::Mutex::new(crate::serve::Live::default()));
            let at = crate::serve::spawn_router(crate::serve::training_router(live.clone(), &STOP), addr)
                .map_err(|e| Error::invalid(format!("--serve {addr}: cannot listen there ({e})")))?;
            eprintln!("ffnn: live training page on http://{at}/");
            Some(live)
        }
        None => None,
    };
    let mut last_test = String::new();
    let mut observe = |event: Event| match event {
        Event::Step { iteration, total_iterations, epoch, loss, accuracy, .. } => {
            if bar.length() != Some(total_iterations as u64) {
                bar.set_length(total_iterations as u64);
            }
            if iteration % 10 == 0 || iteration == total_iterations {
                bar.set_position(iteration as u64);
                bar.set_message(format!("epoch {epoch}  loss {loss:.4}  acc {:5.1}%{last_test}", accuracy * 100.0));
                if let Some(live) = &live {
                    let mut l = live.lock().unwrap();
                    (l.iteration, l.total_iterations, l.epoch, l.loss, l.accuracy) =
                        (iteration, total_iterations, epoch, loss, accuracy);
                }
            }
        }
        Event::Evaluated(row) => {
            if let (Some(l), Some(a)) = (row.test_loss, row.test_accuracy) {
                last_test = format!("  test loss {l:.4}  test acc {:5.2}%", a * 100.0);
            }
            if let Some(live) = &live {
                live.lock().unwrap().history.push(row.clone());
            }
        }
    };

    // What a checkpoint records besides the run's state: where the data is, the threads.
    let mut meta = BTreeMap::new();
    meta.insert(meta::DATA.to_string(), data_path.display().to_string());
    meta.insert(meta::DATA_SHA256.to_string(), fingerprint);
    meta.insert(meta::THREADS.to_string(), threads.to_string());
    meta.insert(meta::PRESET.to_string(), preset_name.clone());
    meta.insert(meta::VAL.to_string(), val.to_string());
    meta.extend(data.class_names.to_metadata());
    let checkpoint_path = run_dir.join(run_dir::CHECKPOINT);
    let history_path = run_dir.join(run_dir::HISTORY);
    let mut save_checkpoint = |c: &Checkpoint| -> ffnn::Result<()> {
        c.save(&checkpoint_path, &meta)?;
        c.history.write_csv(&history_path)
    };
    install_ctrl_c(args.json);
    let control = TrainControl {
        resume: resumed.map(|(_, c, _)| c),
        stop: Some(&STOP),
        checkpoints: match args.checkpoint_every {
            None => CheckpointPolicy { every_epochs: None, every_seconds: Some(60.0) },
            Some(0) => CheckpointPolicy::default(),
            Some(n) => CheckpointPolicy { every_epochs: Some(n), every_seconds: None },
        },
        on_checkpoint: Some(&mut save_checkpoint),
        validation: validation.as_ref().map(|v| v as &dyn ffnn::data::Samples),
        epochs: None,
    };
    let result = train_model_with(&data.train, Some(&data.test), &config, control, &mut observe);
    bar.finish_and_clear();
    if let Some(live) = &live {
        live.lock().unwrap().finished = true;
    }
    let result = result?;

    if result.interrupted {
        crate::run_files::write_run_files(&run_dir, &result.history, &result.model, None, &data, &data_path)?;
        eprintln!(
            "interrupted at iteration {} ({:.2} epochs); checkpoint, history, plots and report.html are in {}/",
            result.iterations,
            result.epochs,
            run_dir.display()
        );
        eprintln!("resume with: ffnn train --resume {}", run_dir.display());
        return Err(super::Interrupted.into());
    }

    let test = evaluate(&result.model, &data.test);
    let train = evaluate(&result.model, &data.train);
    let model = &result.model;
    let summary = Summary {
        preset: preset_name,
        architecture: model.describe(),
        parameters: model.parameter_count(),
        config,
        threads,
        data: data_path.clone(),
        run_dir: run_dir.clone(),
        test_accuracy: Some(test.accuracy),
        test_loss: Some(test.loss),
        train_accuracy: Some(train.accuracy),
        train_loss: Some(train.loss),
        epochs: result.epochs,
        iterations: result.iterations,
        train_seconds: result.train_seconds,
        samples_per_second: result.samples as f64 / result.train_seconds.max(1e-9),
        peak_rss_mb: None,
        dataset: data.class_names.dataset.clone(),
        classes: data.class_names.names.clone(),
    };
    let json = crate::run_files::write_run_files(&run_dir, &result.history, model, Some(summary.clone()), &data, &data_path)?;

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
        let recall = per_class_recall(&test.confusion_matrix(&data.test.labels, model.classes()));
        let per_class: Vec<String> =
            recall.iter().enumerate().map(|(c, r)| format!("{} {:.1}%", data.class_names.name(c), r * 100.0)).collect();
        eprintln!("test accuracy per {}: {}", data.class_names.noun(), per_class.join(", "));
        eprintln!(
            "{} iterations ({:.1} epochs) in {:.2} s of training, {:.0} samples/s",
            result.iterations, result.epochs, result.train_seconds, summary.samples_per_second
        );
        eprintln!(
            "wrote {}/: report.html, model.safetensors, history.csv, cost/accuracy/learning_rate .png/.svg, weights.png, summary.json",
            run_dir.display()
        );
    }
    Ok(())
}

/// The class count, with the names when they are not just the numbers (`10 classes: T-shirt/top, …`).
fn classes_shown(classes: &ffnn::data::Classes) -> String {
    if classes.are_numbered() {
        format!("{} classes", classes.len())
    } else {
        format!("{} classes: {}", classes.len(), classes.names.join(", "))
    }
}

/// Each class's recall, `matrix[c][c] / Σ matrix[c]`, from a confusion matrix `[true][predicted]`.
pub fn per_class_recall(matrix: &[Vec<usize>]) -> Vec<f64> {
    matrix.iter().enumerate().map(|(c, row)| row[c] as f64 / row.iter().sum::<usize>().max(1) as f64).collect()
}
