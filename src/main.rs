//! The `ffnn` binary: see `ffnn --help` and the README.

fn main() {
    std::process::exit(ffnn_cli::cli::main());
}
