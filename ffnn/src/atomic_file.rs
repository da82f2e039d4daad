//! Writing files so that a crash never leaves a half-written one: the bytes go to a temporary
//! file in the same folder, are flushed to disk, and only then renamed over the final name
//! (a rename within one file system is atomic). Whoever reads the file sees the old version or
//! the new one, never a mix.

use crate::error::{Result, io_error};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name used while `path` is being written: `.NAME.tmp-PID` beside it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable; not every platform can open a folder, so ignore failure.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })
}
