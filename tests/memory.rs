//! The peak memory a user sees: `ffnn train` on the mlp network with evaluation every 100
//! iterations, plots and the report, measured as `/usr/bin/time -v` does (the kernel's
//! `ru_maxrss` of the finished child), and the figure `--json` reports beside it. (One test in
//! its own binary: `RUSAGE_CHILDREN` is the largest of all the children this process waited for.)

mod common;

use common::mnist_dir;

#[test]
fn train_peaks_under_100_mb_and_says_so() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ffnn"))
        .args(["train", "--hidden", "256,128", "--optimizer", "adam", "--lr", "0.001", "--epochs", "1", "--eval-every", "100"])
        .args(["--threads", "2", "--json", "--out", "run", "--data", mnist.to_str().unwrap()])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reported = summary["peak_rss_mb"].as_f64().unwrap();
    // SAFETY: `getrusage` fills the `rusage` it is given.
    let measured = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage.ru_maxrss as f64 / 1024.0
    };
    assert!(measured <= 100.0, "peak RSS {measured:.1} MB");
    assert!((measured - reported).abs() <= 5.0, "--json says {reported:.1} MB, the kernel {measured:.1} MB");
    assert!(tmp.path().join("run/report.html").is_file());
}
