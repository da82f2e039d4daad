//! `ffnn train --serve`: the live page, its progress API, and the stop button, which stops
//! training cleanly (checkpoint written, exit 130) as Ctrl-C does.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn live_progress_and_a_clean_stop() {
    let Some(mnist) = mnist_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_ffnn"))
        .args([
            "train",
            "--data",
            mnist.to_str().unwrap(),
            "--out",
            "run",
            "--epochs",
            "20",
            "--eval-every",
            "50",
            "--serve",
            &addr,
        ])
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let progress = || -> Option<Value> {
        let mut r = agent.get(&format!("http://{addr}/api/progress")).call().ok()?;
        serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
    };
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        if let Some(p) = progress()
            && p["history"].as_array().is_some_and(|h| h.len() >= 2)
        {
            assert!(p["iteration"].as_u64().unwrap() >= 100);
            assert_eq!(p["total_iterations"], 20 * 469);
            assert!(p["history"][0]["test_accuracy"].as_f64().is_some());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut page = agent.get(&format!("http://{addr}/")).call().unwrap();
    assert!(page.body_mut().read_to_string().unwrap().contains("Stop training"));

    let mut r = agent.post(&format!("http://{addr}/api/stop")).send(&[][..]).unwrap();
    assert_eq!(r.body_mut().read_to_string().unwrap(), r#"{"stopping":true}"#);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("resume with: ffnn train --resume run"), "{stderr}");
    for f in ["checkpoint.safetensors", "history.csv", "report.html"] {
        assert!(tmp.path().join("run").join(f).exists(), "{f}");
    }
}
