//! The `ffnn` command line: `train`, `eval`, `predict`, `download`, `bench`.
//! Each subcommand is a thin layer over the library; errors are one line on stderr.

pub mod bench;
pub mod download;
pub mod eval;
pub mod export;
pub mod predict;
pub mod report;
pub mod serve;
pub mod train;

use clap::{Parser, Subcommand};
use ffnn::error::Error;
use std::path::{Path, PathBuf};

/// ffnn: train, evaluate and use feed-forward neural networks on images (MNIST and alike).
#[derive(Parser, Debug)]
#[command(name = "ffnn", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a network and write a run folder (model, history, plots, weight images).
    Train(train::TrainArgs),
    /// Evaluate a saved model on a dataset's test set: accuracy, loss, confusion matrix.
    Eval(eval::EvalArgs),
    /// Classify PNG images with a saved model.
    Predict(predict::PredictArgs),
    /// Write RUN_DIR/report.html: settings, results, curves, weights, confusion matrix, mistakes.
    Report(report::ReportArgs),
    /// Serve a page to draw on or upload images to a model, and its JSON API.
    Serve(serve::ServeArgs),
    /// Download MNIST or Fashion-MNIST (checksums verified) into a folder.
    Download(download::DownloadArgs),
    /// Export a model for other runtimes: an ONNX graph.
    Export(export::ExportArgs),
    /// Measure speed: GEMM peak, training throughput (optionally against PyTorch), inference.
    Bench(bench::BenchArgs),
}

impl Command {
    /// Whether the command runs a web server (which must outlive clients that hang up).
    fn serves(&self) -> bool {
        match self {
            Command::Serve(_) => true,
            Command::Train(args) => args.serve.is_some(),
            Command::Bench(args) => args.serve_load.is_some(),
            _ => false,
        }
    }
}

/// A closed pipe (`ffnn eval | head -1`) ends the program quietly, as it does any Unix tool,
/// instead of a panic at the next `println!`. Rust ignores `SIGPIPE` so that a write to a
/// closed pipe or socket fails with an error; this puts back the default action, which ends
/// the process at that write. Not for the commands that serve: a client that hangs up must
/// not end the server.
fn die_quietly_on_closed_pipes() {
    #[cfg(unix)]
    // SAFETY: `signal` only changes the process's disposition of SIGPIPE; `SIG_DFL` is the
    // kernel's own action, so no code of ours runs in a signal context.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The default data folder when neither `--data` nor `$FFNN_DATA` is given.
pub const DEFAULT_DATA: &str = "data/mnist";

/// `$FFNN_DATA`, when set and not empty.
pub fn env_data() -> Option<PathBuf> {
    std::env::var_os("FFNN_DATA").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Where the data is: `--data` (a path, or the name of a dataset ffnn downloads: `mnist`,
/// `fashion-mnist`), else `$FFNN_DATA`, else `./data/mnist`. A named dataset lives in the
/// per-user data folder and, like `./data/mnist` when there is nothing there, is downloaded on
/// first use (the Keras `load_data()` / torchvision `download=True` convention), with a progress
/// bar and verified checksums. `$FFNN_DATA` is the user's own place: never downloaded into.
pub fn resolve_data(flag: Option<&Path>) -> Result<PathBuf, Error> {
    use crate::download::{Downloadable, user_data_dir};
    if let Some(p) = flag {
        if p.exists() {
            return Ok(p.to_path_buf());
        }
        if let Some(set) = p.to_str().and_then(Downloadable::by_id) {
            let dir = user_data_dir().join(set.id);
            fetch_on_first_use(set, &dir)?;
            return Ok(dir);
        }
        return Err(Error::file(p, "no such file or folder (given with --data; or a dataset to download: mnist, fashion-mnist)"));
    }
    if let Some(p) = env_data() {
        if !p.exists() {
            return Err(Error::file(&p, "no such file or folder (given by $FFNN_DATA)"));
        }
        return Ok(p);
    }
    let p = PathBuf::from(DEFAULT_DATA);
    let empty = std::fs::read_dir(&p).is_ok_and(|mut entries| entries.next().is_none());
    if !p.exists() || empty {
        fetch_on_first_use(&crate::download::DOWNLOADABLE[0], &p)?;
    }
    Ok(p)
}

/// Downloads `set` into `dir` unless its files are there, saying so on stderr first. Offline,
/// the error is one line: what could not be fetched from where, and how to use files one has.
fn fetch_on_first_use(set: &crate::download::Downloadable, dir: &Path) -> Result<(), Error> {
    if set.present_in(dir) {
        return Ok(());
    }
    eprintln!("ffnn: {} is not in {} yet: downloading it there (checksums verified)", set.name, dir.display());
    crate::download::download(set, dir, &set.mirrors(), &mut download::Bar(None)).map_err(|e| {
        Error::invalid(format!("{e}; to use {} files you have, point --data (or $FFNN_DATA) at their folder", set.name))
    })?;
    Ok(())
}

/// A model file's network, classes and the test accuracy its run recorded (`ffnn.test_accuracy`,
/// written by `ffnn train`), for the commands that show a model: `serve` and `export`.
pub fn load_served_model(path: &Path) -> Result<(ffnn::nn::Model, ffnn::data::Classes, Option<f32>), Error> {
    let (model, metadata) = ffnn::nn::model_file::load_model_with_metadata(path)?;
    let accuracy = metadata.get(ffnn::nn::model_file::TEST_ACCURACY_KEY).and_then(|a| a.parse().ok());
    let classes = ffnn::data::Classes::from_metadata(&metadata, model.classes());
    Ok((model, classes, accuracy))
}

/// Sets the thread count for everything ffnn runs in parallel and returns it.
///
/// The rule: at most one thread per core. ffnn's threads spin while they wait for the next
/// piece of work (see [`ffnn::parallel`]), so two threads on one core slow each other down
/// many times over (one MNIST epoch: 0.40 s on 2 threads, 1.21 s on 4, 13.6 s on 1000, on
/// 2 cores). More threads than cores are cut to the core count with a one-line note on stderr.
pub fn set_threads(threads: Option<usize>) -> Result<usize, Error> {
    match threads {
        Some(0) => Err(Error::invalid("--threads must be at least 1")),
        Some(n) => {
            let cores = ffnn::parallel::usable_cores();
            if n > cores {
                eprintln!("ffnn: --threads {n}: this machine has {cores} cores; using {cores} threads (one per core)");
            }
            ffnn::parallel::set_threads(n.min(cores));
            Ok(n.min(cores))
        }
        None => Ok(ffnn::parallel::threads()),
    }
}

/// Value parser of flags that take a whole number (its range is checked with the settings,
/// which say what is valid: `--batch-size must be at least 1`).
pub(crate) fn whole_number(s: &str) -> Result<usize, String> {
    s.trim().parse::<usize>().map_err(|_| "expected a whole number".to_string())
}

/// Value parser of `--seed`: a whole number that fits in 64 bits.
pub(crate) fn seed(s: &str) -> Result<u64, String> {
    s.trim().parse::<u64>().map_err(|_| format!("expected a whole number from 0 to {}", u64::MAX))
}

/// Value parser of flags that take a real number (negative ones reach the range check, which
/// says what is valid).
pub(crate) fn number(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err("expected a number".to_string()),
    }
}

/// Makes a clap error one line: its first line, the missing arguments and the usage when it
/// names some (`… not provided: --model <FILE> (usage: ffnn eval --model <FILE> …)`), and
/// the possible values when it lists them.
fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut out = lines.next().unwrap_or("error: bad arguments").to_string();
    let rest: Vec<&str> = lines.collect();
    if err.kind() == clap::error::ErrorKind::MissingRequiredArgument {
        let missing: Vec<&str> = rest.iter().copied().take_while(|l| !l.starts_with("Usage:")).collect();
        out.push(' ');
        out.push_str(&missing.join(", "));
        if let Some(usage) = rest.iter().find_map(|l| l.strip_prefix("Usage: ")) {
            out.push_str(&format!(" (usage: {usage})"));
        }
    }
    if let Some(values) = rest.iter().find(|l| l.starts_with("[possible values:")) {
        out.push(' ');
        out.push_str(values);
    }
    out
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { 2 } else { 0 }
                }
                _ => {
                    eprintln!("{}", one_line(&e));
                    2
                }
            };
        }
    };
    if !cli.command.serves() {
        die_quietly_on_closed_pipes();
    }
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Report(args) => report::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Download(args) => download::run(args),
        Command::Export(args) => export::run(args),
        Command::Bench(args) => bench::run_cli(args),
    };
    match result {
        Ok(()) => 0,
        // Everything is written and said already.
        Err(e) if e.is::<Interrupted>() => 130,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            1
        }
    }
}

/// A command stopped by the user (Ctrl-C, or the stop button of `train --serve`) after saving
/// its work: exit status 130, as for a process ended by SIGINT, with nothing more to print.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// An error as one line in the command line's words: the library names settings by their
/// configuration field (`batch_size`), the user typed a flag (`--batch-size`), and some errors
/// say which flag or command fixes them.
pub fn describe(e: &anyhow::Error) -> String {
    use ffnn::error::RunFolderProblem;
    let Some(error) = e.downcast_ref::<Error>() else { return format!("{e:#}") };
    match error {
        Error::Setting { setting, requirement } => format!("{} {requirement}", flag_of(setting)),
        Error::OutOfMemory { .. } => format!("{error}: use smaller layers (--hidden) or batches (--batch-size)"),
        Error::Diverged { .. } => {
            format!("{error}: try a smaller learning rate (--lr); checkpoints and history written before are kept")
        }
        Error::DataMismatch { .. } => format!("{error}: resume with that data, or start a new run"),
        Error::RunFolder { dir, problem } => {
            let dir = dir.display();
            match problem {
                RunFolderProblem::NotAFolder => format!("{dir}: --out exists and is not a folder"),
                RunFolderProblem::CannotCreate(e) => format!("{dir}: cannot create the run folder (--out): {e}"),
                RunFolderProblem::NotWritable(e) => format!("{dir}: the run folder (--out) is not writable: {e}"),
                RunFolderProblem::InUse { resumable } => format!(
                    "{dir}: --out is a folder with files in it (an earlier run?); {}add --overwrite to replace that run",
                    if *resumable { format!("continue that run with `ffnn train --resume {dir}`, or ") } else { String::new() }
                ),
            }
        }
        _ => error.to_string(),
    }
}

/// The flag that sets a configuration field (see [`ffnn::train::TrainConfig::validate`]).
fn flag_of(setting: &str) -> &str {
    match setting {
        "learning_rate" => "--lr",
        "optimizer.momentum" => "--momentum",
        "optimizer" => "--optimizer",
        "init.std" => "--init-std",
        "schedule.every_epochs" => "--lr-step-epochs",
        "schedule.gamma" => "--lr-gamma",
        "schedule.warmup_fraction" => "--warmup",
        "schedule.cycles" => "--cycles",
        "schedule.multiplier" => "--cycle-mult",
        "augment.rotation" => "--rotate",
        "augment.scale" => "--scale",
        "augment.shear" => "--shear",
        "augment.translate" => "--translate",
        "augment.elastic_alpha" => "--elastic-alpha",
        "augment.elastic_sigma" => "--elastic-sigma",
        "length.epochs" => "--epochs",
        "length.iterations" => "--iterations",
        "validation" => "--val",
        "batch_size" => "--batch-size",
        "hidden" => "--hidden",
        "dropout" => "--dropout",
        "label_smoothing" => "--label-smoothing",
        "weight_decay" => "--weight-decay",
        other => other,
    }
}
