//! Finding the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).

use std::env;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian-style systems install versioned PostgreSQL servers
/// (`/usr/lib/postgresql/<version>/bin`).
pub const SYSTEM_PG_ROOT: &str = "/usr/lib/postgresql";

/// The programs a directory must contain to run a throwaway cluster
/// (`postgres` is started directly, so `pg_ctl` is not needed).
pub(crate) const SERVER_PROGRAMS: [&str; 2] = ["initdb", "postgres"];

/// Finds the directory holding the PostgreSQL server binaries.
///
/// Looks, in order, at `ORMKIT_PG_BINDIR` (trusted as given), the `PATH`
/// (following symlinks such as `/usr/local/bin/initdb`), the output of
/// `pg_config --bindir`, and the newest `/usr/lib/postgresql/<version>/bin`.
/// A directory qualifies when it holds executable `initdb` and `postgres`.
/// `lookup` reads environment variables (`ORMKIT_PG_BINDIR`, `PATH`).
pub fn find_bindir(lookup: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    find_bindir_in(lookup, Path::new(SYSTEM_PG_ROOT))
}

/// Like [`find_bindir`], with `system_root` in place of [`SYSTEM_PG_ROOT`]
/// (so tests can pretend nothing is installed).
pub fn find_bindir_in(
    lookup: impl Fn(&str) -> Option<String>,
    system_root: &Path,
) -> Option<PathBuf> {
    if let Some(explicit) = lookup("ORMKIT_PG_BINDIR").filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(explicit));
    }
    let path = lookup("PATH").unwrap_or_default();
    let path_dirs: Vec<PathBuf> = env::split_paths(OsStr::new(&path)).collect();
    in_path(&path_dirs)
        .or_else(|| from_pg_config(&path_dirs))
        .or_else(|| newest_versioned(system_root))
}

/// Whether `dir` holds all of [`SERVER_PROGRAMS`] as executable files.
pub(crate) fn is_bindir(dir: &Path) -> bool {
    SERVER_PROGRAMS
        .iter()
        .all(|program| is_executable(&dir.join(program)))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The first `PATH` entry with an `initdb`, resolved through symlinks to the
/// directory that really holds the server binaries.
fn in_path(path_dirs: &[PathBuf]) -> Option<PathBuf> {
    path_dirs.iter().find_map(|dir| {
        let initdb = dir.join("initdb");
        if !is_executable(&initdb) {
            return None;
        }
        let resolved = initdb
            .canonicalize()
            .ok()
            .and_then(|real| real.parent().map(Path::to_path_buf))
            .filter(|real_dir| is_bindir(real_dir));
        resolved.or_else(|| is_bindir(dir).then(|| dir.clone()))
    })
}

/// `pg_config --bindir`, with `pg_config` taken from `PATH`.
fn from_pg_config(path_dirs: &[PathBuf]) -> Option<PathBuf> {
    let pg_config = path_dirs
        .iter()
        .map(|dir| dir.join("pg_config"))
        .find(|candidate| is_executable(candidate))?;
    let output = Command::new(pg_config)
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    is_bindir(&dir).then_some(dir)
}

/// The `bin` directory of the highest-numbered version under `root`.
fn newest_versioned(root: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let key = name
                .split('.')
                .map(str::parse::<u32>)
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            Some((key, entry.path().join("bin")))
        })
        .filter(|(_, bin)| is_bindir(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_bindir_is_trusted() {
        let found = find_bindir_in(
            |name| (name == "ORMKIT_PG_BINDIR").then(|| "/nowhere".to_owned()),
            Path::new("/nonexistent"),
        );
        assert_eq!(found, Some(PathBuf::from("/nowhere")));
    }

    #[test]
    fn nothing_found_without_path_or_system_root() {
        assert_eq!(find_bindir_in(|_| None, Path::new("/nonexistent")), None);
    }
}
