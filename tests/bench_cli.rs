//! `ffnn bench` with the real binary on the real MNIST: every training config runs, repeated
//! (the benchmark trains into the same scratch folder again and again), and the JSON report
//! holds a row per config and thread count.

mod common;

use common::*;

#[test]
fn the_benchmark_runs_every_config_repeatedly() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let run = ffnn(
        &[
            "bench",
            "--data",
            mnist.to_str().unwrap(),
            "--epochs",
            "1",
            "--repeats",
            "2",
            "--threads",
            "2",
            "--training-only",
            "--json-out",
            "b.json",
        ],
        tmp.path(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.path().join("b.json")).unwrap()).unwrap();
    let configs: Vec<&str> = report["training"].as_array().unwrap().iter().map(|t| t["config"].as_str().unwrap()).collect();
    assert_eq!(configs, ["softmax", "mlp", "wide"]);
    assert!(report["training"].as_array().unwrap().iter().all(|t| t["seconds_per_epoch"].as_f64().unwrap() > 0.0));
}
