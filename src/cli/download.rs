//! `ffnn download [mnist|fashion-mnist]`: a dataset into a folder, with a progress bar and
//! verified checksums.

use crate::download::{Downloadable, Progress, download, user_data_dir};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DownloadArgs {
    /// The dataset: mnist or fashion-mnist.
    #[arg(default_value = "mnist", value_parser = ["mnist", "fashion-mnist"], value_name = "DATASET")]
    pub dataset: String,
    /// Folder to download into [default for mnist: $FFNN_DATA, else ./data/mnist; for
    /// fashion-mnist: the per-user data folder, ~/.local/share/ffnn/fashion-mnist, where
    /// `--data fashion-mnist` looks].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A mirror to try first (a URL under which the four .gz files sit); may be repeated.
    #[arg(long, value_name = "URL")]
    pub mirror: Vec<String>,
    /// Use only the --mirror URLs, not the built-in mirrors.
    #[arg(long, requires = "mirror")]
    pub no_builtin_mirrors: bool,
}

/// An indicatif bar per file.
pub struct Bar(pub Option<ProgressBar>);

impl Progress for Bar {
    fn start(&mut self, name: &str, _url: &str, total: Option<u64>) {
        let bar = ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template("{msg:28} {bar:30.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec}")
                .expect("valid template"),
        );
        bar.set_message(name.to_string());
        self.0 = Some(bar);
    }
    fn advance(&mut self, received: u64) {
        if let Some(b) = &self.0 {
            b.set_position(received);
        }
    }
    fn finish(&mut self, message: &str) {
        if let Some(b) = self.0.take() {
            b.finish_and_clear();
        }
        eprintln!("{message}");
    }
}

pub fn run(args: DownloadArgs) -> anyhow::Result<()> {
    let set = Downloadable::by_id(&args.dataset).expect("the parser allows only known datasets");
    let dir = match (&args.dir, set.id) {
        (Some(dir), _) => dir.clone(),
        (None, "mnist") => super::env_data().unwrap_or_else(|| PathBuf::from(super::DEFAULT_DATA)),
        (None, id) => user_data_dir().join(id),
    };
    for m in &args.mirror {
        if !(m.starts_with("http://") || m.starts_with("https://")) {
            return Err(ffnn::Error::invalid(format!("--mirror {m:?}: expected an http:// or https:// URL")).into());
        }
    }
    let mut mirrors = args.mirror.clone();
    if !args.no_builtin_mirrors {
        mirrors.extend(set.mirrors());
    }
    let report = download(set, &dir, &mirrors, &mut Bar(None))?;
    for line in report {
        if line.contains("already present") {
            eprintln!("{line}");
        }
    }
    eprintln!("{} is ready in {}", set.name, dir.display());
    Ok(())
}
