//! `ffnn download`: fetches the four MNIST files from public mirrors.
//!
//! Each file is streamed to a temporary name beside its final one, its decompressed content
//! is checked against the SHA-256 below (the canonical sums; `.gz` wrappers differ between
//! mirrors), and only then renamed into place. A failed or corrupted download never sits under
//! the final name; a checksum mismatch deletes the file, says so, and tries the next mirror.

use ffnn::data::idx::read_maybe_gzip;
use ffnn::error::{Error, Result, io_error};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The MNIST files and the SHA-256 of their decompressed content.
pub const MNIST_FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
];

/// Built-in mirrors, tried in this order after any given with `--mirror`.
pub const MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// Largest file accepted from a mirror (the biggest MNIST file is under 10 MB compressed).
const MAX_DOWNLOAD: u64 = 256 << 20;

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `path` holds an IDX file (raw or gzip) whose decompressed content has the SHA-256 `expected`.
fn verified(path: &Path, expected: &str) -> Result<bool> {
    Ok(sha256_hex(&read_maybe_gzip(path)?) == expected)
}

/// Progress reporting for a download: called with (file name, total bytes if known) when a
/// file starts, then with the bytes received so far.
pub trait Progress {
    fn start(&mut self, name: &str, url: &str, total: Option<u64>);
    fn advance(&mut self, received: u64);
    fn finish(&mut self, message: &str);
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {
    fn start(&mut self, _: &str, _: &str, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self, _: &str) {}
}

/// Downloads the MNIST files into `dir` (created if needed, and removed again when the download
/// fails and it is empty), trying the `mirrors` in order (URLs under which the four `.gz` files
/// sit; see [`MIRRORS`]). Files already present and verified are kept. Returns one line per file
/// saying what happened.
pub fn download_mnist(dir: &Path, mirrors: &[String], progress: &mut dyn Progress) -> Result<Vec<String>> {
    if mirrors.is_empty() {
        return Err(Error::invalid("no mirror to download from"));
    }
    // The folders this call creates, deepest first: removed again if nothing could be
    // downloaded, so a failed download leaves no empty dataset folder behind.
    let created: Vec<PathBuf> =
        dir.ancestors().take_while(|a| !a.as_os_str().is_empty() && !a.exists()).map(Path::to_path_buf).collect();
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let result = download_into(dir, mirrors, progress);
    if result.is_err() {
        for folder in &created {
            // Only empty folders go (`remove_dir` refuses others): a file that did arrive stays.
            let _ = std::fs::remove_dir(folder);
        }
    }
    result
}

/// The downloads of [`download_mnist`] into the existing folder `dir`.
fn download_into(dir: &Path, mirrors: &[String], progress: &mut dyn Progress) -> Result<Vec<String>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let mut report = Vec::new();
    for (name, sha) in MNIST_FILES {
        let target = dir.join(format!("{name}.gz"));
        if target.is_file() && verified(&target, sha).unwrap_or(false) {
            report.push(format!("{}: already present, checksum verified", target.display()));
            continue;
        }
        let mut failures = Vec::new();
        let mut done = false;
        for mirror in mirrors {
            let url = format!("{}/{name}.gz", mirror.trim_end_matches('/'));
            match fetch_verified(&agent, &url, &target, sha, progress) {
                Ok(()) => {
                    report.push(format!("{}: downloaded from {url}, checksum verified", target.display()));
                    done = true;
                    break;
                }
                Err(why) => {
                    progress.finish(&format!("{name}.gz from {url}: {why}"));
                    failures.push(format!("{url}: {why}"));
                }
            }
        }
        if !done {
            return Err(Error::file(&target, format!("could not be downloaded from any mirror ({})", failures.join("; "))));
        }
    }
    Ok(report)
}

/// Fetches `url` to a temporary file, verifies it, and renames it to `target`.
fn fetch_verified(
    agent: &ureq::Agent,
    url: &str,
    target: &Path,
    sha: &str,
    progress: &mut dyn Progress,
) -> std::result::Result<(), String> {
    let tmp: PathBuf = ffnn::atomic_file::temp_path(target);
    let result = (|| {
        let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
        let total = response.body().content_length();
        progress.start(&target.file_name().unwrap().to_string_lossy(), url, total);
        let mut reader = response.body_mut().as_reader().take(MAX_DOWNLOAD);
        let mut file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut received = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| format!("transfer failed ({e})"))?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            received += n as u64;
            progress.advance(received);
        }
        file.sync_all().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        drop(file);
        match verified(&tmp, sha) {
            Ok(true) => {}
            Ok(false) => return Err("checksum mismatch: the file was deleted".to_string()),
            Err(e) => return Err(format!("not a valid MNIST file ({e}); the file was deleted")),
        }
        std::fs::rename(&tmp, target).map_err(|e| format!("cannot rename to {}: {e}", target.display()))?;
        progress.finish(&format!("{}: checksum verified", target.display()));
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
