//! Helpers shared by the integration tests: the real MNIST, small datasets written on the fly,
//! and running the `ffnn` binary.
#![allow(dead_code)]

use ffnn::data::idx::encode_idx;
use ffnn::data::image::encode_png;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The real MNIST: `$FFNN_DATA`, else `../shared/data/mnist` beside the repository.
/// `None` (the test skips) when it is missing, except under CI, where a missing dataset fails.
pub fn mnist_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("FFNN_DATA").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.join("train-images-idx3-ubyte.gz").is_file() || c.join("train-images-idx3-ubyte").is_file() {
            return Some(c);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the real MNIST is missing: set FFNN_DATA or put it at ../shared/data/mnist");
    }
    eprintln!("skipping: real MNIST not found (set FFNN_DATA)");
    None
}

/// The real Fashion-MNIST from Debian's package `dataset-fashion-mnist` (which `.ci/run`
/// installs); `None` (the test skips) when missing, except under CI.
pub fn fashion_mnist_dir() -> Option<PathBuf> {
    let dir = PathBuf::from("/usr/share/datasets/fashion-mnist");
    if dir.join("train-images-idx3-ubyte.gz").is_file() {
        return Some(dir);
    }
    assert!(std::env::var_os("CI").is_none(), "CI is set but Fashion-MNIST is missing (apt-get install dataset-fashion-mnist)");
    eprintln!("skipping: Fashion-MNIST not installed");
    None
}

/// Gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A tiny image of class `label`: a bright bar whose position depends on the class.
pub fn toy_image(label: u8, variant: usize, side: usize) -> Vec<u8> {
    let mut px = vec![0u8; side * side];
    let col = (label as usize * 2 + variant % 2) % side;
    for r in 0..side {
        px[r * side + col] = 200 + (variant % 50) as u8;
    }
    px
}

/// Writes an IDX dataset (gzip) of `n_train`/`n_test` toy images, `classes` classes, into `dir`.
pub fn write_idx_dataset(dir: &Path, n_train: usize, n_test: usize, classes: u8, side: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let labels: Vec<u8> = (0..n).map(|i| (i % classes as usize) as u8).collect();
        let images: Vec<u8> = labels.iter().enumerate().flat_map(|(i, &l)| toy_image(l, i, side)).collect();
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte.gz")), gzip(&encode_idx(&[n, side, side], &images))).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), gzip(&encode_idx(&[n], &labels))).unwrap();
    }
}

/// Writes the seed's PNG tree (`root/train/<class>/NNNN.png`, `root/test/...`).
pub fn write_png_tree(root: &Path, per_class: usize, classes: u8, side: usize) {
    for split in ["train", "test"] {
        for c in 0..classes {
            let dir = root.join(split).join(c.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..per_class {
                std::fs::write(dir.join(format!("{i:04}.png")), encode_png(side, side, 1, &toy_image(c, i, side))).unwrap();
            }
        }
    }
}

/// Zips a folder tree (entries relative to `root`, with directory entries), under `prefix`.
pub fn zip_tree(root: &Path, zip_path: &Path, prefix: &str) {
    let file = std::fs::File::create(zip_path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    let mut stack = vec![root.to_path_buf()];
    let mut entries = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            entries.push(p.clone());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    entries.sort();
    for p in entries {
        let rel = format!("{prefix}{}", p.strip_prefix(root).unwrap().to_string_lossy());
        if p.is_dir() {
            zip.add_directory(rel, options).unwrap();
        } else {
            zip.start_file(rel, options).unwrap();
            zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
        }
    }
    zip.finish().unwrap();
}

/// The result of running the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `ffnn ARGS` in `cwd` without `$FFNN_DATA` (unless given in `env`).
pub fn ffnn(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ffnn"));
    cmd.args(args).current_dir(cwd).env_remove("FFNN_DATA").env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run ffnn");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts that a run failed with exactly `expected` as its only stderr line.
pub fn assert_error(run: &Run, expected: &str) {
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    assert_ne!(run.code, 0, "expected failure, got success: {}", run.stderr);
    assert_eq!(run.stderr.trim_end(), expected, "stderr was: {:?}", run.stderr);
    assert_eq!(run.stderr.trim_end().lines().count(), 1);
}

/// A minimal HTTP/1.1 server on 127.0.0.1 serving `files` (path → body; 404 otherwise),
/// one connection at a time, for as long as the test process lives. Returns its base URL.
pub fn serve(files: std::collections::HashMap<String, Vec<u8>>) -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = match files.get(&path) {
                Some(b) => ("200 OK", b.clone()),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

/// A history.csv without its `seconds` column: training time is measured, not computed, so it
/// is the one column that differs between two identical runs.
pub fn without_seconds(csv: &str) -> String {
    csv.lines()
        .map(|l| {
            let mut cols: Vec<&str> = l.split(',').collect();
            cols.remove(2);
            cols.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
