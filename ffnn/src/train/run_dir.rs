//! The run folder: what a training run writes, under which names, and how the folder is made
//! so that no earlier run is replaced or mixed with a new one.
//!
//! ```text
//! runs/2026-11-28_10-15-02/
//!   model.safetensors       the trained network (PyTorch's layout)
//!   checkpoint.safetensors  model + optimizer + position, for `ffnn train --resume`
//!   history.csv             cost and accuracy every `eval_every` iterations
//!   summary.json            settings and results
//!   report.html             everything above as one page
//!   cost, accuracy, learning_rate (.png, .svg), weights.png, augmented.png
//! ```

use crate::error::{Error, Result, RunFolderProblem, io_error};
use crate::train::{Checkpoint, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The checkpoint a run can be resumed from.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// The trained model.
pub const MODEL: &str = "model.safetensors";
/// The history of the cost and accuracy.
pub const HISTORY: &str = "history.csv";
/// Settings and results.
pub const SUMMARY: &str = "summary.json";
/// The run's page.
pub const REPORT: &str = "report.html";

/// Every file a run writes.
pub const FILES: &[&str] = &[
    MODEL,
    CHECKPOINT,
    HISTORY,
    SUMMARY,
    REPORT,
    "cost.png",
    "cost.svg",
    "accuracy.png",
    "accuracy.svg",
    "learning_rate.png",
    "learning_rate.svg",
    "weights.png",
    "augmented.png",
];

/// What `overwrite` deletes before a new run starts in an earlier run's folder: files that
/// describe the earlier run and that the new one may not write, or not before it finishes (a
/// stale checkpoint would let `--resume` continue the earlier run into the new run's files; a
/// stale summary would make an interrupted new run look finished). Every other file is
/// replaced atomically when the new run writes it, so a crash or a full disk leaves the
/// earlier version (its model above all) whole.
const STALE: &[&str] = &[CHECKPOINT, SUMMARY, "augmented.png"];

/// Keys of what a checkpoint records about its run besides the run's state.
pub mod meta {
    /// The dataset's absolute path.
    pub const DATA: &str = "ffnn.data";
    /// The SHA-256 of the loaded dataset (see [`crate::data::DataSplit::fingerprint`]).
    pub const DATA_SHA256: &str = "ffnn.data_sha256";
    /// The thread count (results are bit-identical for a seed and thread count).
    pub const THREADS: &str = "ffnn.threads";
    /// The preset the settings started from.
    pub const PRESET: &str = "ffnn.preset";
    /// How many training images were held out for validation.
    pub const VAL: &str = "ffnn.val";
}

/// A run's settings and results: `summary.json` (and the `--json` line of `ffnn train`),
/// written and read by this one type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The preset the settings started from.
    pub preset: String,
    /// The network, e.g. `784-256-128-10 relu`.
    pub architecture: String,
    /// Trainable parameters.
    pub parameters: usize,
    /// Every setting of the run.
    pub config: TrainConfig,
    /// Threads it ran on.
    pub threads: usize,
    /// The dataset's absolute path.
    pub data: PathBuf,
    /// The run folder.
    pub run_dir: PathBuf,
    /// Test-set accuracy and mean cross-entropy (`None` for a run that was interrupted).
    pub test_accuracy: Option<f32>,
    /// See `test_accuracy`.
    pub test_loss: Option<f32>,
    /// On the whole training set after training (`None` for an interrupted run).
    pub train_accuracy: Option<f32>,
    /// See `train_accuracy`.
    pub train_loss: Option<f32>,
    /// Epochs run (fractional when the run stopped mid-epoch; whole epochs done for an
    /// interrupted run).
    pub epochs: f64,
    /// Optimizer steps run.
    pub iterations: usize,
    /// The training loop alone: no data loading, evaluation or I/O.
    pub train_seconds: f64,
    /// Training samples per second of `train_seconds`.
    pub samples_per_second: f64,
    /// The process's peak resident memory in MB, where known.
    pub peak_rss_mb: Option<f64>,
    /// The dataset's name (`MNIST`, `Fashion-MNIST`, a folder's name).
    #[serde(default)]
    pub dataset: String,
    /// The classes' names, in label order.
    #[serde(default)]
    pub classes: Vec<String>,
}

impl Summary {
    /// Writes `RUN_DIR/summary.json` atomically and returns its text (one line of JSON).
    pub fn write(&self, run_dir: &Path) -> Result<String> {
        let json = serde_json::to_string(self).expect("a summary serializes");
        crate::atomic_file::write_atomic(&run_dir.join(SUMMARY), json.as_bytes())?;
        Ok(json)
    }

    /// The run's summary and whether the run finished: `summary.json`, or for an interrupted
    /// run what its checkpoint says (no results, the position it stopped at).
    pub fn read(run_dir: &Path) -> Result<(Summary, bool)> {
        let path = run_dir.join(SUMMARY);
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
            let summary = serde_json::from_str(&text).map_err(|e| Error::file(&path, format!("not a run summary ({e})")))?;
            return Ok((summary, true));
        }
        let checkpoint = run_dir.join(CHECKPOINT);
        if !checkpoint.is_file() {
            return Err(Error::file(run_dir, "not a run folder (no summary.json or checkpoint.safetensors)"));
        }
        let (c, stored) = Checkpoint::load(&checkpoint)?;
        let names = crate::data::Classes::from_metadata(&stored, c.model.classes());
        let summary = Summary {
            preset: stored.get(meta::PRESET).cloned().unwrap_or_default(),
            architecture: c.model.describe(),
            parameters: c.model.parameter_count(),
            config: c.config.clone(),
            threads: stored.get(meta::THREADS).and_then(|t| t.parse().ok()).unwrap_or(0),
            data: stored.get(meta::DATA).map(PathBuf::from).unwrap_or_default(),
            run_dir: run_dir.to_path_buf(),
            test_accuracy: None,
            test_loss: None,
            train_accuracy: None,
            train_loss: None,
            epochs: (c.epoch - 1) as f64,
            iterations: c.iteration,
            train_seconds: c.train_seconds,
            samples_per_second: c.samples as f64 / c.train_seconds.max(1e-9),
            peak_rss_mb: None,
            dataset: names.dataset,
            classes: names.names,
        };
        Ok((summary, false))
    }
}

/// Makes the folder of a new run and checks that it is writable, before any training.
///
/// - `out` given: it may be new or an empty folder. A folder with files in it is refused,
///   naming how to continue the run there (`--resume`) or to replace it on purpose
///   (`overwrite`: the new run's files replace the earlier run's; files ffnn does not write stay).
/// - `out` not given: `runs/<date>_<time>`, or `…-2`, `…-3` when taken: the folder is created
///   atomically, so two runs started in the same second never share one.
pub fn create(out: Option<&Path>, overwrite: bool) -> Result<PathBuf> {
    let dir = match out {
        Some(dir) => {
            prepare_given(dir, overwrite)?;
            dir.to_path_buf()
        }
        None => create_fresh(Path::new("runs"))?,
    };
    // Prove it is writable now rather than after training.
    let probe = dir.join(".ffnn-write-test");
    std::fs::write(&probe, b"").map_err(|e| Error::RunFolder { dir: dir.clone(), problem: RunFolderProblem::NotWritable(e) })?;
    let _ = std::fs::remove_file(probe);
    Ok(dir)
}

/// Checks a run folder given by the user without touching it: refuses a file, or a folder
/// with something in it unless `overwrite`. [`create`] checks it again; calling this first lets a command refuse
/// before loading any data.
pub fn check(dir: &Path, overwrite: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::RunFolder { dir: dir.to_path_buf(), problem: RunFolderProblem::NotAFolder });
    }
    if dir.is_dir() && !overwrite {
        let mut entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
        if entries.next().is_some() {
            return Err(Error::RunFolder {
                dir: dir.to_path_buf(),
                problem: RunFolderProblem::InUse { resumable: dir.join(CHECKPOINT).is_file() },
            });
        }
    }
    Ok(())
}

/// A run folder given by the user: [`check`]s it, deletes the [`STALE`] files of an earlier run when
/// `overwrite`, and creates it.
fn prepare_given(dir: &Path, overwrite: bool) -> Result<()> {
    check(dir, overwrite)?;
    if overwrite {
        for name in STALE {
            let path = dir.join(name);
            if path.is_file() {
                std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
            }
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::RunFolder { dir: dir.to_path_buf(), problem: RunFolderProblem::CannotCreate(e) })
}

/// A new folder `parent/<date>_<time>[-N]`, created atomically.
fn create_fresh(parent: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::RunFolder { dir: parent.to_path_buf(), problem: RunFolderProblem::CannotCreate(e) })?;
    let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S").to_string();
    for n in 1.. {
        let dir = parent.join(if n == 1 { stamp.clone() } else { format!("{stamp}-{n}") });
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::RunFolder { dir, problem: RunFolderProblem::CannotCreate(e) }),
        }
    }
    unreachable!("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_folders_never_collide() {
        let tmp = tempfile::tempdir().unwrap();
        // Many at once, from several threads, within the same second or two.
        let dirs: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..4).map(|_| s.spawn(|| (0..10).map(|_| create_fresh(tmp.path()).unwrap()).collect::<Vec<_>>())).collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let mut unique = dirs.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 40);
        assert!(dirs.iter().all(|d| d.is_dir()));
    }

    #[test]
    fn a_folder_with_files_is_refused_unless_overwriting() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        create(Some(&dir), false).unwrap();
        assert!(create(Some(&dir), false).is_ok(), "an empty folder is fine");
        std::fs::write(dir.join(MODEL), b"old model").unwrap();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let err = create(Some(&dir), false).unwrap_err();
        assert!(matches!(err, Error::RunFolder { problem: RunFolderProblem::InUse { resumable: false }, .. }), "{err}");
        assert_eq!(err.to_string(), format!("{}: the folder has files in it (an earlier run?)", dir.display()));
        assert_eq!(std::fs::read(dir.join(MODEL)).unwrap(), b"old model");
        std::fs::write(dir.join(CHECKPOINT), b"x").unwrap();
        std::fs::write(dir.join(SUMMARY), b"{}").unwrap();
        let err = create(Some(&dir), false).unwrap_err();
        assert!(matches!(err, Error::RunFolder { problem: RunFolderProblem::InUse { resumable: true }, .. }), "{err}");
        create(Some(&dir), true).unwrap();
        assert!(!dir.join(CHECKPOINT).exists(), "the earlier run's checkpoint cannot be resumed into the new run");
        assert!(!dir.join(SUMMARY).exists(), "an interrupted new run does not look finished");
        assert_eq!(std::fs::read(dir.join(MODEL)).unwrap(), b"old model", "replaced only when the new run writes its own");
        assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"mine", "files ffnn did not write stay");
    }
}
