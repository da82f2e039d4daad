//! `ffnn download`: fetches the four IDX files of MNIST or Fashion-MNIST from public mirrors.
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

/// The Fashion-MNIST files and the SHA-256 of their decompressed content (Zalando's files;
/// Debian's package `dataset-fashion-mnist` compresses them differently, with the same content).
pub const FASHION_MNIST_FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    ("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    ("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    ("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
];

/// Fashion-MNIST's mirrors (Zalando's own).
pub const FASHION_MNIST_MIRRORS: [&str; 2] = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
];

/// A dataset `ffnn download` fetches: its name, its files with their checksums, its mirrors.
#[derive(Clone, Copy, Debug)]
pub struct Downloadable {
    /// Its name on the command line (`mnist`, `fashion-mnist`).
    pub id: &'static str,
    /// Its name as shown.
    pub name: &'static str,
    /// `(file name without .gz, SHA-256 of the decompressed content)`.
    pub files: [(&'static str, &'static str); 4],
    /// Built-in mirrors, in order: URLs under which the four `.gz` files sit.
    pub mirrors: &'static [&'static str],
}

/// The datasets `ffnn download` knows.
pub const DOWNLOADABLE: [Downloadable; 2] = [
    Downloadable { id: "mnist", name: "MNIST", files: MNIST_FILES, mirrors: &MIRRORS },
    Downloadable { id: "fashion-mnist", name: "Fashion-MNIST", files: FASHION_MNIST_FILES, mirrors: &FASHION_MNIST_MIRRORS },
];

impl Downloadable {
    /// The dataset called `id`, if `ffnn download` knows it.
    pub fn by_id(id: &str) -> Option<&'static Downloadable> {
        DOWNLOADABLE.iter().find(|d| d.id == id)
    }

    /// Whether `dir` holds its four files (raw or gzip; not verified: that is the download's job).
    pub fn present_in(&self, dir: &Path) -> bool {
        self.files.iter().all(|(name, _)| dir.join(format!("{name}.gz")).is_file() || dir.join(name).is_file())
    }

    /// The mirrors to try: `$FFNN_MIRRORS` (URLs separated by spaces or commas) instead of the
    /// built-in ones when it is set (a local mirror, a proxy, the tests' servers).
    pub fn mirrors(&self) -> Vec<String> {
        match std::env::var("FFNN_MIRRORS") {
            Ok(list) if !list.trim().is_empty() => list.split([' ', ',']).filter(|m| !m.is_empty()).map(str::to_string).collect(),
            _ => self.mirrors.iter().map(|m| m.to_string()).collect(),
        }
    }
}

/// The per-user folder where datasets named on the command line (`--data fashion-mnist`) are
/// kept: `$XDG_DATA_HOME/ffnn`, else `~/.local/share/ffnn` (the Keras `~/.keras/datasets` and
/// torchvision `root=` convention, in the XDG place).
pub fn user_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("ffnn")
}

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
    download(&DOWNLOADABLE[0], dir, mirrors, progress)
}

/// Downloads `set`'s files into `dir` (see [`download_mnist`], which is this for MNIST).
pub fn download(set: &Downloadable, dir: &Path, mirrors: &[String], progress: &mut dyn Progress) -> Result<Vec<String>> {
    if mirrors.is_empty() {
        return Err(Error::invalid("no mirror to download from"));
    }
    // The folders this call creates, deepest first: removed again if nothing could be
    // downloaded, so a failed download leaves no empty dataset folder behind.
    let created: Vec<PathBuf> =
        dir.ancestors().take_while(|a| !a.as_os_str().is_empty() && !a.exists()).map(Path::to_path_buf).collect();
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let result = download_into(set, dir, mirrors, progress);
    if result.is_err() {
        for folder in &created {
            // Only empty folders go (`remove_dir` refuses others): a file that did arrive stays.
            let _ = std::fs::remove_dir(folder);
        }
    }
    result
}

/// The downloads of [`download`] into the existing folder `dir`.
fn download_into(set: &Downloadable, dir: &Path, mirrors: &[String], progress: &mut dyn Progress) -> Result<Vec<String>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let mut report = Vec::new();
    for (name, sha) in set.files {
        let target = dir.join(format!("{name}.gz"));
        if target.is_file() && verified(&target, sha).unwrap_or(false) {
            report.push(format!("{}: already present, checksum verified", target.display()));
            continue;
        }
        let mut failures = Vec::new();
        let mut done = false;
        for mirror in mirrors {
            let url = format!("{}/{name}.gz", mirror.trim_end_matches('/'));
            match fetch_verified(&agent, &url, &target, sha, set.name, progress) {
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
    dataset: &str,
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
            Err(e) => return Err(format!("not a valid {dataset} file ({e}); the file was deleted")),
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
