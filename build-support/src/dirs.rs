//! Where throwaway servers keep their files: a private directory in the system temp dir,
//! and a socket directory with a short path (socket paths are limited to ~107 bytes).

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::{Error, Result};

/// Where socket directories go: `/tmp` (short paths), else the temp dir.
pub(crate) fn socket_parent() -> PathBuf {
    let tmp = Path::new("/tmp");
    if tmp.is_dir() {
        tmp.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A new private directory in `parent`, named `<prefix><random>`.
pub(crate) fn temp_dir_in(parent: &Path, prefix: &str) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .map_err(|err| {
            Error::io(
                format!("could not create a directory in {}", parent.display()),
                err,
            )
        })
}

/// Deletes each directory, noting in `problems` what could not be deleted.
pub(crate) fn remove_all(dirs: impl IntoIterator<Item = TempDir>, problems: &mut Vec<String>) {
    for dir in dirs {
        let path = dir.path().to_path_buf();
        if let Err(err) = dir.close() {
            problems.push(format!("could not delete {}: {err}", path.display()));
        }
    }
}
