//! `ffnn bench`: GEMM peak, training throughput against PyTorch, inference; a table and JSON.

use crate::bench::{BenchOptions, run, to_markdown, write_json};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// MNIST folder [default: $FFNN_DATA, else ./data/mnist].
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Epochs per training run.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Thread counts, comma-separated [default: 1 and all cores].
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Python with PyTorch, to run the reference trainer in the same run.
    #[arg(long, value_name = "PYTHON", requires = "torch_script")]
    pub torch_python: Option<PathBuf>,
    /// The reference trainer, `torch_mlp.py`.
    #[arg(long, value_name = "FILE", requires = "torch_python")]
    pub torch_script: Option<PathBuf>,
    /// Only the training part (no GEMM peak, no inference).
    #[arg(long)]
    pub training_only: bool,
    /// Instead of the rest: one epoch of each config with its training step split into parts
    /// (gather, non-zero lists, each product, activations, loss, optimizer, evaluation), each
    /// with its time and achieved GFLOP/s or GB/s beside the machine's limit.
    #[arg(long, conflicts_with = "with_profile")]
    pub profile: bool,
    /// After the rest, in the same run: the profile of `--profile`, printed after the tables
    /// and kept in the JSON report (`profile`), so the two come from one run of the machine.
    #[arg(long)]
    pub with_profile: bool,
    /// Instead of the rest: load-test `POST /api/predict` of an `ffnn serve` for this model
    /// (started here, on loopback).
    #[arg(long, value_name = "MODEL")]
    pub serve_load: Option<PathBuf>,
    /// Requests of the load test.
    #[arg(long, default_value_t = 10_000)]
    pub requests: usize,
    /// Concurrent connections of the load test.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Where to write the JSON report.
    #[arg(long, value_name = "FILE", default_value = "bench.json")]
    pub json_out: PathBuf,
}

pub fn run_cli(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(model_path) = &args.serve_load {
        if args.requests == 0 || args.concurrency == 0 {
            return Err(ffnn::Error::invalid("--requests and --concurrency must be at least 1").into());
        }
        let model = ffnn::nn::model_file::load_model(model_path)?;
        let r = crate::bench::serve_load(model, args.requests, args.concurrency)?;
        ffnn::atomic_file::write_atomic(&args.json_out, serde_json::to_string_pretty(&r)?.as_bytes())?;
        println!(
            "POST /api/predict: {} requests, {} connections, {} errors, {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms",
            r.requests, r.concurrency, r.errors, r.requests_per_second, r.p50_ms, r.p99_ms
        );
        return Ok(());
    }
    let data = super::resolve_data(args.data.as_deref())?;
    // Loaded once, now, to fail before the GEMM part; the benchmark's inference part and the
    // profile use this copy (its training runs are child processes, which load their own).
    let split = ffnn::data::load_dataset(&data)?;
    if args.epochs == 0 || args.repeats == 0 || args.threads.contains(&0) {
        return Err(ffnn::Error::invalid("--epochs, --repeats and --threads must be at least 1").into());
    }
    let mut threads = args.threads.clone();
    if threads.is_empty() {
        threads = vec![1, ffnn::parallel::available_cores()];
        threads.dedup();
    }
    if args.profile || args.with_profile {
        // The profile runs on exactly these thread counts: refuse more than the cores now, not
        // after minutes of benchmark.
        let cores = ffnn::parallel::usable_cores();
        if let Some(t) = threads.iter().find(|&&t| t > cores) {
            return Err(ffnn::Error::invalid(format!("--threads {t}: this machine has {cores} cores")).into());
        }
    }
    if args.profile {
        let profiles = profile(&split, &threads)?;
        ffnn::atomic_file::write_atomic(&args.json_out, serde_json::to_string_pretty(&profiles)?.as_bytes())?;
        eprintln!("wrote {}", args.json_out.display());
        return Ok(());
    }
    let options = BenchOptions {
        exe: std::env::current_exe()?,
        data,
        epochs: args.epochs,
        repeats: args.repeats,
        threads,
        torch: args.torch_python.zip(args.torch_script),
        training_only: args.training_only,
    };
    let mut report = run(&options, &split, &mut |line| eprintln!("{line}"))?;
    println!("{}", to_markdown(&report));
    if args.with_profile {
        report.profile = profile(&split, &options.threads)?;
    }
    write_json(&report, &args.json_out)?;
    eprintln!("wrote {}", args.json_out.display());
    Ok(())
}

/// `ffnn bench --profile` (and `--with-profile`): the benchmark's configs, one epoch each at each
/// thread count, each profile's table printed as it is done.
fn profile(split: &ffnn::data::DataSplit, threads: &[usize]) -> anyhow::Result<Vec<crate::profile::Profile>> {
    use clap::Parser;
    /// The `train` flags of a benchmark config, parsed as `ffnn train` parses them.
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        args: super::train::TrainArgs,
    }
    let mut profiles = vec![];
    for &t in threads {
        ffnn::parallel::with_threads(t, || -> anyhow::Result<()> {
            let limits = crate::profile::measure_limits();
            eprintln!("{t} thread(s): GEMM {:.1} GFLOP/s, memory copy {:.1} GB/s", limits.gemm_gflops, limits.copy_gb_per_s);
            for (name, flags) in crate::bench::CONFIGS {
                let mut argv = vec!["train"];
                argv.extend(flags.iter().copied());
                argv.extend(crate::bench::PLAIN.iter().copied());
                argv.push("relu");
                let config = Flags::try_parse_from(argv)?.args.config()?;
                let (p, _) = crate::profile::profile_epoch(name, &split.train, &split.test, &config, limits)?;
                println!("{}", crate::profile::to_markdown(&p));
                profiles.push(p);
            }
            Ok(())
        })?;
    }
    Ok(profiles)
}
