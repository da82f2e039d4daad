//! `ffnn bench` with the real binary on the real MNIST: every training config runs, repeated
//! (the benchmark trains into the same scratch folder again and again), and the JSON report
//! holds a row per config and thread count (and, with `--with-profile`, each config's profile).

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
            "--with-profile",
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
    // `--with-profile`: the profile of every config, from the same run, in the same report.
    let profiled: Vec<&str> = report["profile"].as_array().unwrap().iter().map(|p| p["config"].as_str().unwrap()).collect();
    assert_eq!(profiled, ["softmax", "mlp", "wide"]);
    assert!(run.stdout.contains("| first layer backward, dW₁ = Xᵀ·dZ₁, db₁ |"), "{}", run.stdout);
}

#[test]
fn the_profile_splits_an_epoch_of_every_config_into_its_parts() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let args = ["bench", "--profile", "--data", mnist.to_str().unwrap(), "--threads", "1", "--json-out", "p.json"];
    let run = ffnn(&args, tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let profiles: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.path().join("p.json")).unwrap()).unwrap();
    let configs: Vec<&str> = profiles.as_array().unwrap().iter().map(|p| p["config"].as_str().unwrap()).collect();
    assert_eq!(configs, ["softmax", "mlp", "wide"]);
    for p in profiles.as_array().unwrap() {
        let parts = p["parts"].as_array().unwrap();
        assert_eq!(parts.len(), 11);
        let share: f64 = parts.iter().map(|r| r["share"].as_f64().unwrap()).sum();
        assert!((share - 1.0).abs() < 1e-9);
        // One epoch of each config is past the seed's 90% (softmax regression) or near it.
        assert!(p["test_accuracy"].as_f64().unwrap() > 0.89, "{}", p["config"]);
    }
    // The table on stdout names every part.
    assert!(run.stdout.contains("| first layer backward, dW₁ = Xᵀ·dZ₁, db₁ |"), "{}", run.stdout);
}

/// A profile on more threads than the machine has cores is refused at once, not after the
/// minutes of benchmark that `--with-profile` runs before it, and no report is written.
#[test]
fn a_profile_on_more_threads_than_cores_is_refused_at_once() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let n = ffnn::parallel::usable_cores();
    for flag in ["--with-profile", "--profile"] {
        let args = ["bench", flag, "--threads", "1000", "--data", mnist.to_str().unwrap(), "--json-out", "b.json"];
        let run = ffnn(&args, tmp.path(), &[]);
        assert_ne!(run.code, 0);
        assert_eq!(run.stderr.trim_end(), format!("error: --threads 1000: this machine has {n} cores"), "{flag}");
        assert!(!tmp.path().join("b.json").exists());
    }
}
