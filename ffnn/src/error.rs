//! ffnn's error: what went wrong, typed, with the file or setting at fault and the cause kept.
//!
//! `Display` is one line for a person, in the library's words (settings are named by their
//! [`crate::train::TrainConfig`] field, `batch_size`); a program can match on the variant, and
//! an I/O failure keeps its [`std::io::Error`] as the [`source`](std::error::Error::source).
//! The `ffnn` command shows the same line with its flag names (`--batch-size`).

use std::path::{Path, PathBuf};

/// Everything that can go wrong with user input, files, settings or a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing `path` failed.
    #[error("{}: {}", path.display(), describe_io(source))]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// `path` exists but is not what it should be (a truncated IDX file, a corrupt zip, …).
    #[error("{}: {message}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Bytes that are not in the format expected of them (a model file, an IDX array, a PNG),
    /// before it is known which file they came from.
    #[error("{0}")]
    Format(String),
    /// A setting outside what is valid: `setting` is the configuration field
    /// (`batch_size`, `augment.rotation`, `validation`, …), `requirement` says what is valid.
    #[error("{setting} {requirement}")]
    Setting {
        /// The configuration field.
        setting: &'static str,
        /// What is valid, e.g. `must be at least 1`.
        requirement: String,
    },
    /// A run folder that cannot be used (see [`RunFolderProblem`]).
    #[error("{}: {problem}", dir.display())]
    RunFolder {
        /// The folder.
        dir: PathBuf,
        /// What is wrong with it.
        problem: RunFolderProblem,
    },
    /// A run was to be resumed on data other than the data its checkpoint was trained on.
    #[error(
        "{}: not the data this run was trained on (the checkpoint was trained on {trained_on}, SHA-256 {}…; this data's is {}…)",
        given.display(), &trained_sha256[..trained_sha256.len().min(12)], &given_sha256[..given_sha256.len().min(12)]
    )]
    DataMismatch {
        /// The data given now.
        given: PathBuf,
        /// Where the checkpoint's data was.
        trained_on: String,
        /// The SHA-256 of the checkpoint's data.
        trained_sha256: String,
        /// The SHA-256 of the data given now.
        given_sha256: String,
    },
    /// The configuration needs more memory than the machine has available (bytes).
    #[error("{network} needs about {} of memory, and this machine has {} available", describe_bytes(*needed), describe_bytes(*available))]
    OutOfMemory {
        /// The configuration, e.g. `a 784-1000000-10 network with adam and batches of 128`.
        network: String,
        /// Bytes it needs.
        needed: f64,
        /// Bytes available.
        available: f64,
    },
    /// The loss or a parameter stopped being finite (or the loss exploded) at `iteration`.
    #[error("training diverged at iteration {iteration} ({why})")]
    Diverged {
        /// The step at which it was noticed.
        iteration: usize,
        /// What was seen, e.g. `the loss is NaN`.
        why: String,
    },
    /// Anything else the user can fix, said in one line.
    #[error("{0}")]
    Invalid(String),
}

/// What is wrong with a run folder.
#[derive(Debug, thiserror::Error)]
pub enum RunFolderProblem {
    /// The path is a file.
    #[error("exists and is not a folder")]
    NotAFolder,
    /// It could not be created.
    #[error("cannot create the run folder: {0}")]
    CannotCreate(#[source] std::io::Error),
    /// It could not be written to.
    #[error("the run folder is not writable: {0}")]
    NotWritable(#[source] std::io::Error),
    /// It already holds files (an earlier run; `resumable` when it has a checkpoint).
    #[error("the folder has files in it (an earlier run?){}", if *resumable { "; it has a checkpoint to resume" } else { "" })]
    InUse {
        /// Whether it holds a checkpoint that `--resume` can continue.
        resumable: bool,
    },
}

impl Error {
    /// An error about the content of `path`.
    pub fn file(path: impl AsRef<Path>, message: impl Into<String>) -> Error {
        Error::File { path: path.as_ref().to_path_buf(), message: message.into() }
    }

    /// A failed read or write of `path`, keeping the cause.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }

    /// A setting out of range.
    pub fn setting(setting: &'static str, requirement: impl Into<String>) -> Error {
        Error::Setting { setting, requirement: requirement.into() }
    }

    /// Anything else.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }

    /// The same error about `path`: a [`Error::Format`] becomes a [`Error::File`] once it is
    /// known which file the bytes came from; other errors are kept as they are.
    pub fn in_file(self, path: impl AsRef<Path>) -> Error {
        match self {
            Error::Format(message) => Error::file(path, message),
            other => other,
        }
    }
}

/// A message about bytes in the wrong format (see [`Error::Format`]).
impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Format(message)
    }
}

/// A message about bytes in the wrong format (see [`Error::Format`]).
impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Format(message.to_string())
    }
}

/// The result of everything in ffnn that can fail.
pub type Result<T> = std::result::Result<T, Error>;

/// An I/O failure about `path` (see [`Error::io`]).
pub fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::io(path, err)
}

/// What an I/O error means for the user, in a few words.
fn describe_io(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::StorageFull => "no space left on device (nothing was replaced)".to_string(),
        _ => err.to_string(),
    }
}

/// Bytes for people: `313.6 GB`, `75 MB`.
pub fn describe_bytes(bytes: f64) -> String {
    match bytes {
        b if b >= 1e12 => format!("{:.1} TB", b / 1e12),
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b => format!("{:.0} MB", (b / 1e6).max(1.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_their_cause_and_read_as_one_line() {
        let e = Error::io("data/x", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.to_string(), "data/x: no such file or folder");
        let source = std::error::Error::source(&e).unwrap().downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(Error::Format("truncated".into()).in_file("m.safetensors").to_string(), "m.safetensors: truncated");
        assert_eq!(Error::setting("batch_size", "must be at least 1").to_string(), "batch_size must be at least 1");
    }
}
