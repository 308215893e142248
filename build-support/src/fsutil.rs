//! Copying a data directory, quickly.
//!
//! A fresh PostgreSQL data directory holds about a thousand small files, so
//! the copy is dominated by file creation. Creating files in different
//! directories parallelizes well (in one directory it does not: the directory
//! is locked), so directories are spread over a few threads.

use std::fs;
use std::os::unix::fs::lchown;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// At most this many copying threads.
const MAX_THREADS: usize = 4;

/// The files (and symlinks) of one directory, to copy into its already created copy.
struct Job {
    files: Vec<Entry>,
}

struct Entry {
    from: PathBuf,
    to: PathBuf,
    is_link: bool,
}

/// Copies the directory tree `src` to the new directory `dst`, preserving
/// permission bits (PostgreSQL insists on 0700/0750 for a data directory) and
/// symlinks, and giving everything to `owner` (uid, gid) when set.
pub(crate) fn copy_tree(src: &Path, dst: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    let mut jobs = Vec::new();
    plan_dirs(src, dst, owner, &mut jobs)?;
    jobs.sort_by_key(|job| std::cmp::Reverse(job.files.len()));

    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_THREADS)
        .min(jobs.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let failure = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(err) = copy_files(job, owner) {
                        let mut failure = failure.lock().unwrap_or_else(|e| e.into_inner());
                        failure.get_or_insert(err);
                        next.store(jobs.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Creates `dst` like `src` and, recursively, its subdirectories; collects
/// the files (and symlinks) to copy.
fn plan_dirs(src: &Path, dst: &Path, owner: Option<(u32, u32)>, jobs: &mut Vec<Job>) -> Result<()> {
    let meta = fs::metadata(src).map_err(|err| Error::io(context("read", src), err))?;
    fs::create_dir(dst).map_err(|err| Error::io(context("create directory", dst), err))?;
    fs::set_permissions(dst, meta.permissions())
        .map_err(|err| Error::io(context("set permissions of", dst), err))?;
    give(dst, owner)?;

    let mut job = Job { files: Vec::new() };
    let entries = fs::read_dir(src).map_err(|err| Error::io(context("list", src), err))?;
    for entry in entries {
        let entry = entry.map_err(|err| Error::io(context("list", src), err))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let file_type = entry
            .file_type()
            .map_err(|err| Error::io(context("read", &from), err))?;
        if file_type.is_dir() {
            plan_dirs(&from, &to, owner, jobs)?;
        } else {
            let is_link = file_type.is_symlink();
            job.files.push(Entry { from, to, is_link });
        }
    }
    if !job.files.is_empty() {
        jobs.push(job);
    }
    Ok(())
}

fn copy_files(job: &Job, owner: Option<(u32, u32)>) -> Result<()> {
    for Entry { from, to, is_link } in &job.files {
        if *is_link {
            let target =
                fs::read_link(from).map_err(|err| Error::io(context("read link", from), err))?;
            std::os::unix::fs::symlink(&target, to)
                .map_err(|err| Error::io(context("create link", to), err))?;
        } else {
            fs::copy(from, to).map_err(|err| {
                Error::io(
                    format!("could not copy {} to {}", from.display(), to.display()),
                    err,
                )
            })?;
        }
        give(to, owner)?;
    }
    Ok(())
}

fn context(what: &str, path: &Path) -> String {
    format!("could not {what} {}", path.display())
}

fn give(path: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    match owner {
        Some((uid, gid)) => lchown(path, Some(uid), Some(gid))
            .map_err(|err| Error::io(context("change the owner of", path), err)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn copies_tree_with_modes() {
        let scratch = tempfile::tempdir().unwrap();
        let src = scratch.path().join("src");
        fs::create_dir_all(src.join("sub/deeper")).unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(src.join("sub/file"), b"data").unwrap();
        fs::write(src.join("sub/deeper/other"), b"more").unwrap();
        fs::set_permissions(src.join("sub/file"), fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink("sub/file", src.join("link")).unwrap();

        let dst = scratch.path().join("dst");
        copy_tree(&src, &dst, None).unwrap();
        let mode = |path: &Path| fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dst), 0o700);
        assert_eq!(mode(&dst.join("sub/file")), 0o600);
        assert_eq!(fs::read(dst.join("link")).unwrap(), b"data");
        assert_eq!(fs::read(dst.join("sub/deeper/other")).unwrap(), b"more");
        assert!(fs::symlink_metadata(dst.join("link")).unwrap().is_symlink());
    }

    #[test]
    fn missing_source_is_an_error() {
        let scratch = tempfile::tempdir().unwrap();
        let err = copy_tree(
            &scratch.path().join("nope"),
            &scratch.path().join("dst"),
            None,
        );
        assert!(err.is_err());
    }
}
