//! `cargo bench`: the same benchmark as `ffnn bench` (see src/bench.rs), with its defaults.
//! Reads MNIST from `$FFNN_DATA` (else `../shared/data/mnist`); set `FFNN_TORCH_PYTHON` and
//! `FFNN_TORCH_SCRIPT` to compare with PyTorch in the same run.

use ffnn_cli::bench::{BenchOptions, run, to_markdown};
use std::path::PathBuf;

fn main() {
    let data = std::env::var_os("FFNN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist"));
    let torch =
        std::env::var_os("FFNN_TORCH_PYTHON").map(PathBuf::from).zip(std::env::var_os("FFNN_TORCH_SCRIPT").map(PathBuf::from));
    let options = BenchOptions {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_ffnn")),
        data,
        epochs: 3,
        repeats: 1,
        threads: vec![1, ffnn::parallel::available_cores()],
        torch,
        training_only: false,
    };
    let report = ffnn::data::load_dataset(&options.data).and_then(|split| run(&options, &split, &mut |line| eprintln!("{line}")));
    match report {
        Ok(report) => println!("{}", to_markdown(&report)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
