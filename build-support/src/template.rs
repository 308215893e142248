//! The initdb'd template data directory that throwaway clusters are copied from.
//!
//! `initdb` takes a second or two; copying its result takes a fraction of
//! that. The template is keyed by server version and user, and created
//! race-free: `initdb` runs in a private sibling directory that is then
//! renamed into place, and whoever loses the race discards their copy.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::account::{run, ServerAccount};
use crate::error::{Error, Result, INSTALL_HINT};
use crate::tools::{PgTools, PgVersion};

/// Runs `initdb` into `dir` (which must not exist or be empty and owned by `account`).
pub(crate) fn initdb(tools: &PgTools, account: &ServerAccount, dir: &Path) -> Result<()> {
    let mut command = account.command(&tools.initdb);
    command
        .arg("-D")
        .arg(dir)
        .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
        .arg("--locale=C");
    run(command, INSTALL_HINT).map(drop)
}

/// The template directory for `tools`, created if needed; `None` when the
/// server version is unknown (clusters then run `initdb` themselves).
///
/// `location` overrides the default `<temp dir>/ormkit-pg-template-<version>-<user>`.
pub(crate) fn ensure_template(
    tools: &PgTools,
    account: &ServerAccount,
    location: Option<&Path>,
) -> Result<Option<PathBuf>> {
    let Some(version) = &tools.version else {
        return Ok(None);
    };
    let target = location.map_or_else(|| default_location(version, account), Path::to_path_buf);
    match inspect(&target, version, account)? {
        State::Ready => return Ok(Some(target)),
        State::Missing => {}
        State::Stale => discard(&target)?,
    }
    build(tools, account, version, &target)?;
    Ok(Some(target))
}

fn default_location(version: &PgVersion, account: &ServerAccount) -> PathBuf {
    let user: String = account
        .name()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    std::env::temp_dir().join(format!("ormkit-pg-template-{}-{user}", version.full))
}

enum State {
    /// A usable template.
    Ready,
    /// Nothing there (or an empty directory, which a rename replaces).
    Missing,
    /// Our own directory, but incomplete or for another major version.
    Stale,
}

fn inspect(target: &Path, version: &PgVersion, account: &ServerAccount) -> Result<State> {
    let unusable = |reason: String| Error::Template {
        path: target.to_path_buf(),
        reason,
    };
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(State::Missing),
        Err(err) => return Err(unusable(err.to_string())),
    };
    if !meta.is_dir() {
        return Err(unusable("it is not a directory".into()));
    }
    let is_empty = fs::read_dir(target)
        .map_err(|err| unusable(err.to_string()))?
        .next()
        .is_none();
    if is_empty {
        return Ok(State::Missing);
    }
    // Someone else's directory could hold a crafted configuration: never start it.
    if meta.uid() != account.uid() || meta.mode() & 0o022 != 0 {
        return Err(unusable(format!(
            "it must belong to user {} (uid {}) and not be group/world writable, \
             but has uid {} and mode {:o}",
            account.name(),
            account.uid(),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    let pg_version = fs::read_to_string(target.join("PG_VERSION")).unwrap_or_default();
    let complete = target.join("global/pg_control").is_file();
    if pg_version.trim() == version.major && complete {
        Ok(State::Ready)
    } else {
        Ok(State::Stale)
    }
}

/// Moves a stale template out of the way (atomically) and deletes it.
fn discard(target: &Path) -> Result<()> {
    let aside = staging_dir(target, ".ormkit-pg-template-stale-")?;
    match fs::rename(target, aside.path()) {
        Ok(()) => {}
        // Someone else discarded it first.
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => {
            return Err(Error::io(
                format!("could not move aside stale template {}", target.display()),
                err,
            ))
        }
    }
    aside
        .close()
        .map_err(|err| Error::io("could not delete a stale postgresql template", err))
}

fn build(
    tools: &PgTools,
    account: &ServerAccount,
    version: &PgVersion,
    target: &Path,
) -> Result<()> {
    let staging = staging_dir(target, ".ormkit-pg-template-")?;
    account.chown(staging.path())?;
    initdb(tools, account, staging.path())?;
    match fs::rename(staging.path(), target) {
        Ok(()) => {
            let _kept: PathBuf = staging.keep();
            Ok(())
        }
        // Another process won the race; use theirs and let ours be deleted.
        Err(_) if matches!(inspect(target, version, account), Ok(State::Ready)) => Ok(()),
        Err(err) => Err(Error::io(
            format!("could not move the new template into {}", target.display()),
            err,
        )),
    }
}

/// A fresh private directory next to `target` (so renames stay on one file system).
fn staging_dir(target: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    let parent = target
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)
        .map_err(|err| Error::io(format!("could not create {}", parent.display()), err))?;
    crate::dirs::temp_dir_in(parent, prefix)
}
