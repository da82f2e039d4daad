//! `ffnn bench`: how fast ffnn is on this machine, in one run.
//!
//! 1. the f32 GEMM peak of the kernel ffnn uses (square 1024 and 2048, best of several);
//! 2. training on real MNIST for the standard configs `softmax`, `mlp`, `wide` of
//!    `../shared/anchors/README.md` (see [`CONFIGS`]), each a fresh `ffnn train` process: seconds per
//!    epoch, samples per second, analytic GFLOP per epoch, achieved GFLOP/s and its fraction of
//!    (1), peak resident memory; optionally PyTorch's `torch_mlp.py` on the same config and
//!    threads, alternating with ffnn, for ratios measured in the same run;
//! 3. inference: the test set classified as `ffnn eval` does it ([`ffnn::train::evaluate`]: chunks
//!    of 1000 images listed from their bytes, forward pass, loss, probabilities and predictions,
//!    the chunks shared between the threads), in images per second, and the latency of one image.
//!
//! Everything runs at 1 thread and at all threads.

use ffnn::data::DataSplit;
use ffnn::error::{Error, Result};
use ffnn::gemm::{Op, matmul};
use ffnn::nn::{Model, ModelState, model_forward};
use ffnn::tensor::Matrix;
use rand::SeedableRng;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The `ffnn` binary (training runs in child processes, as users run it).
    pub exe: PathBuf,
    /// The MNIST folder.
    pub data: PathBuf,
    pub epochs: usize,
    /// Runs per measurement (alternating ffnn and PyTorch); the median is reported.
    pub repeats: usize,
    /// Thread counts to measure.
    pub threads: Vec<usize>,
    /// `(python, torch_mlp.py)` to compare with PyTorch in the same run.
    pub torch: Option<(PathBuf, PathBuf)>,
    /// Skip the GEMM peak and inference parts.
    pub training_only: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct GemmPoint {
    pub size: usize,
    pub threads: usize,
    pub gflops: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrainPoint {
    pub config: &'static str,
    pub threads: usize,
    pub seconds_per_epoch: f64,
    pub samples_per_second: f64,
    /// Analytic FLOP of the dense network (see [`flop_per_epoch`]).
    pub gflop_per_epoch: f64,
    /// FLOP actually computed: the first layer skips the zero pixels (see [`flop_done_per_epoch`]).
    pub gflop_done_per_epoch: f64,
    /// FLOP computed per second (`gflop_done_per_epoch` over the epoch time).
    pub gflops: f64,
    /// Achieved GFLOP/s over the GEMM peak at the same thread count.
    pub fraction_of_peak: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub test_accuracy: f64,
    pub torch_seconds_per_epoch: Option<f64>,
    pub torch_peak_rss_mb: Option<f64>,
    pub torch_test_accuracy: Option<f64>,
    /// PyTorch's seconds per epoch over ffnn's (above 1: ffnn is faster).
    pub speedup_vs_torch: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InferencePoint {
    pub config: &'static str,
    pub threads: usize,
    pub images_per_second: f64,
    pub latency_one_image_us: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub machine: String,
    pub ffnn_version: &'static str,
    pub epochs: usize,
    pub repeats: usize,
    pub gemm: Vec<GemmPoint>,
    pub training: Vec<TrainPoint>,
    pub inference: Vec<InferencePoint>,
    /// With `--with-profile`: each config's epoch split into its parts, from the same run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<crate::profile::Profile>,
}

/// The benchmark's configs (`../shared/anchors/README.md`) as `ffnn train` flags: exactly the
/// reference's layers, optimizer, hyper-parameters, batch size and init, constant learning
/// rate, no regularization (ffnn's presets of the same name may add more).
pub const CONFIGS: [(&str, &[&str]); 3] = [
    ("softmax", &["--hidden", "", "--optimizer", "sgd", "--lr", "0.1", "--batch-size", "100", "--init", "normal"]),
    ("mlp", &["--hidden", "256,128", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "128", "--init", "torch"]),
    (
        "wide",
        &[
            "--hidden",
            "800",
            "--optimizer",
            "momentum",
            "--momentum",
            "0.9",
            "--lr",
            "0.05",
            "--batch-size",
            "128",
            "--init",
            "torch",
        ],
    ),
];

/// Flags that switch off everything a preset may add (the last, `--activation`, takes `relu`).
pub const PLAIN: [&str; 10] = [
    "--lr-schedule",
    "constant",
    "--dropout",
    "0",
    "--label-smoothing",
    "0",
    "--weight-decay",
    "0",
    "--no-augment",
    "--activation",
];

/// The layer sizes given by a config's `--hidden`.
fn config_sizes(flags: &[&str]) -> Vec<usize> {
    let hidden = flags.iter().position(|f| *f == "--hidden").map(|i| flags[i + 1]).unwrap_or("");
    let mut sizes = vec![784];
    sizes.extend(hidden.split(',').filter(|s| !s.is_empty()).map(|s| s.parse::<usize>().unwrap()));
    sizes.push(10);
    sizes
}

/// Analytic FLOP of one training epoch of `n` samples through layers `sizes`: the forward
/// products `2·Σ in·out`, the weight gradients `2·Σ in·out`, and the input gradients of every
/// layer but the first `2·Σ_{l≥2} in·out`, per sample.
pub fn flop_per_epoch(sizes: &[usize], n: usize) -> f64 {
    let products: Vec<f64> = sizes.windows(2).map(|w| (w[0] * w[1]) as f64).collect();
    let all: f64 = products.iter().sum();
    let not_first: f64 = products.iter().skip(1).sum();
    (4.0 * all + 2.0 * not_first) * n as f64
}

/// [`flop_per_epoch`] minus the products with zero pixels that the first layer skips: its
/// forward product and weight gradient touch only the non-zero inputs (`density` of them; see
/// [`ffnn::sparse`]) when the inputs are sparse enough for that path.
pub fn flop_done_per_epoch(sizes: &[usize], n: usize, density: f64) -> f64 {
    let dense = flop_per_epoch(sizes, n);
    if sizes.len() < 2 || density > ffnn::sparse::MAX_DENSITY as f64 {
        return dense;
    }
    let first = 4.0 * (sizes[0] * sizes[1]) as f64 * n as f64;
    dense - first * (1.0 - density)
}

/// Best GFLOP/s of `C = A·B` for `size × size` matrices on the current threads.
pub fn gemm_gflops(size: usize, repeats: usize) -> f64 {
    let fill = |seed: usize| Matrix::from_vec(size, size, (0..size * size).map(|i| ((i * seed) % 17) as f32 / 17.0).collect());
    let (a, b) = (fill(3), fill(5));
    let mut c = Matrix::zeros(size, size);
    matmul(&a, Op::N, &b, Op::N, &mut c, false); // warm up
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let t = Instant::now();
        matmul(&a, Op::N, &b, Op::N, &mut c, false);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (size as f64).powi(3) / best / 1e9
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn run_json(cmd: &mut Command, what: &str) -> Result<serde_json::Value> {
    let out = cmd.output().map_err(|e| Error::invalid(format!("{what}: cannot start ({e})")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::invalid(format!("{what} failed: {}", err.trim().lines().last().unwrap_or(""))));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or("");
    serde_json::from_str(line).map_err(|e| Error::invalid(format!("{what}: no JSON result line ({e})")))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{cpu}, {} cores, {}", ffnn::parallel::available_cores(), std::env::consts::OS)
}

/// Runs the benchmark on `data`, the dataset loaded from `options.data` (whose path the training
/// runs, child processes, are given); `log` receives one line per finished measurement.
pub fn run(options: &BenchOptions, data: &DataSplit, log: &mut dyn FnMut(&str)) -> Result<BenchReport> {
    let mut report = BenchReport {
        machine: machine(),
        ffnn_version: env!("CARGO_PKG_VERSION"),
        epochs: options.epochs,
        repeats: options.repeats,
        gemm: vec![],
        training: vec![],
        inference: vec![],
        profile: vec![],
    };
    if !options.training_only {
        for &threads in &options.threads {
            ffnn::parallel::set_threads(threads);
            for size in [1024, 2048] {
                let gflops = gemm_gflops(size, if size == 1024 { 10 } else { 4 });
                log(&format!("gemm {size}³ on {threads} thread(s): {gflops:.1} GFLOP/s"));
                report.gemm.push(GemmPoint { size, threads, gflops });
            }
        }
    }
    let tmp = std::env::temp_dir().join(format!("ffnn-bench-{}", std::process::id()));
    let train_samples = data.train.len();
    let density = data.train.images.iter().filter(|&&p| p != 0).count() as f64 / data.train.images.len().max(1) as f64;
    log(&format!("training images: {:.1}% of the pixels are not 0", density * 100.0));
    for (name, flags) in CONFIGS {
        let sizes = config_sizes(flags);
        let gflop = flop_per_epoch(&sizes, train_samples) / 1e9;
        let gflop_done = flop_done_per_epoch(&sizes, train_samples, density) / 1e9;
        for &threads in &options.threads {
            let (mut ours, mut theirs) = (vec![], vec![]);
            for _ in 0..options.repeats {
                let mut cmd = Command::new(&options.exe);
                cmd.args(["train", "--eval-every", "0", "--json"])
                    .args(flags)
                    .args(PLAIN)
                    .arg("relu")
                    .arg("--epochs")
                    .arg(options.epochs.to_string())
                    .arg("--threads")
                    .arg(threads.to_string())
                    .arg("--data")
                    .arg(&options.data)
                    .arg("--out")
                    .arg(&tmp)
                    // The folder is the benchmark's own scratch space, reused run after run.
                    .arg("--overwrite");
                ours.push(run_json(&mut cmd, &format!("ffnn train ({name})"))?);
                if let Some((python, script)) = &options.torch {
                    let mut cmd = Command::new(python);
                    cmd.arg(script)
                        .args(["--config", name, "--seed", "1"])
                        .arg("--epochs")
                        .arg(options.epochs.to_string())
                        .arg("--threads")
                        .arg(threads.to_string())
                        .env("MNIST_DIR", &options.data);
                    theirs.push(run_json(&mut cmd, &format!("{} --config {name}", script.display()))?);
                }
            }
            let field = |runs: &[serde_json::Value], key: &str| -> Option<f64> {
                let v: Vec<f64> = runs.iter().filter_map(|r| r[key].as_f64()).collect();
                (!v.is_empty()).then(|| median(v))
            };
            let seconds_per_epoch = field(&ours, "train_seconds").unwrap_or(f64::NAN) / options.epochs as f64;
            let peak = report
                .gemm
                .iter()
                .filter(|g| g.threads == threads)
                .map(|g| g.gflops)
                .fold(None, |m: Option<f64>, g| Some(m.map_or(g, |m| m.max(g))));
            let torch_seconds = field(&theirs, "seconds_per_epoch");
            let point = TrainPoint {
                config: name,
                threads,
                seconds_per_epoch,
                samples_per_second: field(&ours, "samples_per_second").unwrap_or(f64::NAN),
                gflop_per_epoch: gflop,
                gflop_done_per_epoch: gflop_done,
                gflops: gflop_done / seconds_per_epoch,
                fraction_of_peak: peak.map(|p| gflop_done / seconds_per_epoch / p),
                peak_rss_mb: field(&ours, "peak_rss_mb"),
                test_accuracy: field(&ours, "test_accuracy").unwrap_or(f64::NAN),
                torch_seconds_per_epoch: torch_seconds,
                torch_peak_rss_mb: field(&theirs, "peak_rss_mb"),
                torch_test_accuracy: field(&theirs, "test_accuracy"),
                speedup_vs_torch: torch_seconds.map(|t| t / seconds_per_epoch),
            };
            log(&format!(
                "train {name} on {threads} thread(s): {:.3} s/epoch{}",
                point.seconds_per_epoch,
                point.torch_seconds_per_epoch.map(|t| format!(", PyTorch {t:.3} s/epoch")).unwrap_or_default()
            ));
            report.training.push(point);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);

    if !options.training_only {
        for (name, flags) in CONFIGS {
            let sizes = config_sizes(flags);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let model = Model::new(&sizes, ffnn::nn::Activation::Relu, ffnn::nn::Init::Torch, &mut rng);
            for &threads in &options.threads {
                ffnn::parallel::set_threads(threads);
                let point = inference(name, &model, &data.test, threads);
                log(&format!(
                    "inference {name} on {threads} thread(s): {:.0} images/s, one image in {:.1} µs",
                    point.images_per_second, point.latency_one_image_us
                ));
                report.inference.push(point);
            }
        }
    }
    Ok(report)
}

fn inference(name: &'static str, model: &Model, test: &dyn ffnn::data::Samples, threads: usize) -> InferencePoint {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(ffnn::train::evaluate(model, test));
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mut state = ModelState::default();
    let (mut one, mut label) = (Matrix::default(), Vec::new());
    test.gather(&[0], &mut one, &mut label);
    let mut times: Vec<f64> = (0..300)
        .map(|_| {
            let t = Instant::now();
            model_forward(model, &one, &mut state);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.drain(..50);
    InferencePoint {
        config: name,
        threads,
        images_per_second: test.len() as f64 / best,
        latency_one_image_us: median(times) * 1e6,
    }
}

/// The report as a Markdown table.
pub fn to_markdown(r: &BenchReport) -> String {
    let mut s =
        format!("Machine: {}; ffnn {}; {} epoch(s), median of {} run(s).\n\n", r.machine, r.ffnn_version, r.epochs, r.repeats);
    if !r.gemm.is_empty() {
        s += "| GEMM f32 | threads | GFLOP/s |\n|---|---|---|\n";
        for g in &r.gemm {
            s += &format!("| {0}×{0}×{0} | {1} | {2:.1} |\n", g.size, g.threads, g.gflops);
        }
        s += "\n";
    }
    s += "| config | threads | s/epoch | samples/s | GFLOP/epoch (dense) | GFLOP/epoch computed | GFLOP/s | of GEMM peak | peak RSS MB | test acc | PyTorch s/epoch | PyTorch RSS MB | speed-up vs PyTorch |\n";
    s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    let opt = |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |x| format!("{x:.digits$}"));
    for t in &r.training {
        s += &format!(
            "| {} | {} | {:.3} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} | {:.4} | {} | {} | {} |\n",
            t.config,
            t.threads,
            t.seconds_per_epoch,
            t.samples_per_second,
            t.gflop_per_epoch,
            t.gflop_done_per_epoch,
            t.gflops,
            t.fraction_of_peak.map_or("–".into(), |f| format!("{:.0}%", f * 100.0)),
            opt(t.peak_rss_mb, 0),
            t.test_accuracy,
            opt(t.torch_seconds_per_epoch, 3),
            opt(t.torch_peak_rss_mb, 0),
            t.speedup_vs_torch.map_or("–".into(), |x| format!("{x:.2}×")),
        );
    }
    if !r.inference.is_empty() {
        s += "\n| inference | threads | images/s (`evaluate`, test set) | one image (µs) |\n|---|---|---|---|\n";
        for i in &r.inference {
            s += &format!("| {} | {} | {:.0} | {:.1} |\n", i.config, i.threads, i.images_per_second, i.latency_one_image_us);
        }
    }
    s
}

/// Writes the report's JSON to `path` atomically.
pub fn write_json(report: &BenchReport, path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(report).expect("serializable");
    ffnn::atomic_file::write_atomic(path, json.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn analytic_flop_of_the_standard_configs() {
        // mlp: forward and weight gradients 2·234752 each, input gradients 2·(32768 + 1280).
        assert_eq!(super::flop_per_epoch(&[784, 256, 128, 10], 1), 4.0 * 234_752.0 + 2.0 * 34_048.0);
        assert_eq!(super::flop_per_epoch(&[784, 10], 60_000), 4.0 * 7840.0 * 60_000.0);
        // With 20% non-zero pixels the first layer's forward and weight gradient do 20% of the
        // work, softmax regression's (10 outputs) too; dense inputs keep the dense count.
        let mlp = super::flop_per_epoch(&[784, 256, 128, 10], 1);
        assert_eq!(super::flop_done_per_epoch(&[784, 256, 128, 10], 1, 0.2), mlp - 0.8 * 4.0 * 200_704.0);
        let softmax = super::flop_per_epoch(&[784, 10], 1);
        assert_eq!(super::flop_done_per_epoch(&[784, 10], 1, 0.2), softmax - 0.8 * 4.0 * 7840.0);
        assert_eq!(super::flop_done_per_epoch(&[784, 256, 128, 10], 1, 0.9), mlp);
    }
}

/// The result of a load run against `POST /api/predict`.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub requests: usize,
    pub concurrency: usize,
    pub errors: usize,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Sends `requests` predictions (a 28×28 test-like image as JSON) from `concurrency` client
/// threads, each with its own keep-alive connection, to an `ffnn serve` on loopback started
/// here for `model`; measures throughput and latency.
pub fn serve_load(model: Model, requests: usize, concurrency: usize) -> Result<LoadReport> {
    let addr = crate::serve::spawn(model.clone(), ffnn::data::Classes::numbered(model.classes(), "MNIST"), None, "127.0.0.1:0")
        .map_err(|e| Error::invalid(format!("cannot start the server ({e})")))?;
    let url = format!("http://{addr}/api/predict");
    let pixels: Vec<f32> = (0..model.inputs()).map(|i| ((i * 37) % 255) as f32 / 255.0).collect();
    let body = serde_json::json!({ "pixels": pixels }).to_string();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..concurrency)
            .map(|_| {
                s.spawn(|| {
                    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                    let (mut latencies, mut errors) = (Vec::new(), 0);
                    while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                        let t = Instant::now();
                        let ok = agent
                            .post(&url)
                            .header("Content-Type", "application/json")
                            .send(body.as_bytes())
                            .map(|mut r| r.status().as_u16() == 200 && r.body_mut().read_to_string().is_ok())
                            .unwrap_or(false);
                        latencies.push(t.elapsed().as_secs_f64() * 1e3);
                        errors += usize::from(!ok);
                    }
                    (latencies, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let errors = results.iter().map(|r| r.1).sum();
    let mut latencies: Vec<f64> = results.into_iter().flat_map(|r| r.0).collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    Ok(LoadReport {
        requests,
        concurrency,
        errors,
        seconds,
        requests_per_second: requests as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}
