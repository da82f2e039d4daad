//! ffnn's error: one line that names the file or setting at fault and what is wrong with it.

use std::path::{Path, PathBuf};

/// Everything that can go wrong with user input. `Display` is the one line shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file (or folder) that is missing, unreadable, or not what it should be.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A setting or argument that makes no sense.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// An error about `path`.
    pub fn file(path: impl AsRef<Path>, message: impl Into<String>) -> Error {
        Error::File { path: path.as_ref().to_path_buf(), message: message.into() }
    }

    /// An error about a setting.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Wraps an I/O error as a one-line error about `path`.
pub fn io_error(path: &Path, err: std::io::Error) -> Error {
    let message = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::StorageFull => "no space left on device (nothing was replaced)".to_string(),
        _ => err.to_string(),
    };
    Error::file(path, message)
}
