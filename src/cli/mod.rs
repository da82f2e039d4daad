//! The `ffnn` command line: `train`, `eval`, `predict`, `download`, `bench`.
//! Each subcommand is a thin layer over the library; errors are one line on stderr.

pub mod bench;
pub mod download;
pub mod eval;
pub mod predict;
pub mod report;
pub mod serve;
pub mod train;

use crate::error::Error;
use clap::{Parser, Subcommand};
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
    /// Serve a page to draw digits for a model, and its JSON API.
    Serve(serve::ServeArgs),
    /// Download MNIST (checksums verified) into a folder.
    Download(download::DownloadArgs),
    /// Measure speed: GEMM peak, training throughput (optionally against PyTorch), inference.
    Bench(bench::BenchArgs),
}

/// The default data folder when neither `--data` nor `$FFNN_DATA` is given.
pub const DEFAULT_DATA: &str = "data/mnist";

/// `$FFNN_DATA`, when set and not empty.
pub fn env_data() -> Option<PathBuf> {
    std::env::var_os("FFNN_DATA").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Where the data is: `--data`, else `$FFNN_DATA`, else `./data/mnist`.
pub fn resolve_data(flag: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(p) = flag {
        if !p.exists() {
            return Err(Error::file(p, "no such file or folder (given with --data)"));
        }
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env_data() {
        if !p.exists() {
            return Err(Error::file(&p, "no such file or folder (given by $FFNN_DATA)"));
        }
        return Ok(p);
    }
    let p = PathBuf::from(DEFAULT_DATA);
    if !p.exists() {
        return Err(Error::invalid(format!(
            "no data: ./{DEFAULT_DATA} does not exist; run `ffnn download` to fetch MNIST there, or point --data (or $FFNN_DATA) at a dataset"
        )));
    }
    Ok(p)
}

/// Sets the thread count for everything ffnn runs in parallel.
pub fn set_threads(threads: Option<usize>) -> Result<usize, Error> {
    match threads {
        Some(0) => Err(Error::invalid("--threads must be at least 1")),
        Some(n) => {
            crate::parallel::set_threads(n);
            Ok(n)
        }
        None => Ok(crate::parallel::threads()),
    }
}

/// Makes a clap error one line: its first line, plus the possible values when it lists them.
fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut out = lines.next().unwrap_or("error: bad arguments").to_string();
    if let Some(values) = lines.find(|l| l.starts_with("[possible values:")) {
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
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Report(args) => report::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Download(args) => download::run(args),
        Command::Bench(args) => bench::run_cli(args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
