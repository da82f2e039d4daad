//! `ffnn report RUN_DIR`: the run's self-contained HTML report.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run folder (written by `ffnn train`).
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Dataset for the confusion matrix and mistakes [default: the one the run used].
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let path = crate::report::write_report(&args.run_dir, args.data.as_deref())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
