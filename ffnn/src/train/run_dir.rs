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
/// describe the earlier run and that the new one may not write (a stale checkpoint would let
/// `--resume` continue the earlier run into the new run's files). Every other file is
/// replaced atomically when the new run writes it, so a crash or a full disk leaves the
/// earlier version whole.
const STALE: &[&str] = &[CHECKPOINT, "augmented.png"];

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
        let err = create(Some(&dir), false).unwrap_err();
        assert!(matches!(err, Error::RunFolder { problem: RunFolderProblem::InUse { resumable: true }, .. }), "{err}");
        create(Some(&dir), true).unwrap();
        assert!(!dir.join(CHECKPOINT).exists(), "the earlier run's checkpoint cannot be resumed into the new run");
        assert_eq!(std::fs::read(dir.join(MODEL)).unwrap(), b"old model", "replaced only when the new run writes its own");
        assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"mine", "files ffnn did not write stay");
    }
}
