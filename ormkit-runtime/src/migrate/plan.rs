//! Deciding what a run does, from the migrations and the tracking rows, before anything
//! runs: the history checks, the steps up, the steps down.

use std::collections::HashSet;

use ormkit_schema::migrations::{Migration, VersionKey};

use super::error::MigrateError;
use super::history::AppliedRow;

/// The safety switches of a Migrator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Apply pending migrations older than the newest applied one.
    pub(crate) out_of_order: bool,
    /// Go on when applied migrations have no file.
    pub(crate) ignore_missing: bool,
}

/// How far to go down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DownTarget {
    /// This many of the newest applied migrations.
    Steps(usize),
    /// Every applied migration newer than this version (an all-zero version such as
    /// Diesel's `00000000000000` is a version like any other: it stays applied).
    To(VersionKey),
    /// Every applied migration (`--to 0`).
    All,
}

/// Parses a version given as a target.
pub(crate) fn target_key(version: &str) -> Result<VersionKey, MigrateError> {
    VersionKey::parse(version).ok_or_else(|| MigrateError::InvalidVersion {
        version: version.to_owned(),
    })
}

fn find<'m>(migrations: &'m [Migration], key: &VersionKey) -> Option<&'m Migration> {
    migrations.iter().find(|m| &m.version_key() == key)
}

/// Refuses a history that cannot be built on: a failed migration, an applied migration
/// whose file changed, an applied migration whose file is gone (unless ignored).
pub(crate) fn check_history(
    migrations: &[Migration],
    rows: &[AppliedRow],
    rules: Rules,
) -> Result<(), MigrateError> {
    if let Some(row) = rows.iter().find(|row| !row.success) {
        return Err(MigrateError::Failed {
            migration: row.label(),
            direction: row.failed_direction(),
            started: row.failed_started(),
        });
    }
    for row in rows {
        match find(migrations, &row.key()) {
            Some(m) if m.up.checksum != row.checksum => {
                return Err(MigrateError::ChecksumMismatch {
                    migration: m.to_string(),
                    file: m.up.path.as_ref().into(),
                    applied: row.checksum.clone(),
                    current: m.up.checksum.to_string(),
                });
            }
            None if !rules.ignore_missing => {
                return Err(MigrateError::MissingFile {
                    migration: row.label(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The migrations to apply, oldest first: every pending one, or those up to `target`.
pub(crate) fn plan_up<'m>(
    migrations: &'m [Migration],
    rows: &[AppliedRow],
    target: Option<&VersionKey>,
    rules: Rules,
) -> Result<Vec<&'m Migration>, MigrateError> {
    check_history(migrations, rows, rules)?;
    if let Some(target) = target {
        ensure_known(migrations, rows, target)?;
    }
    let applied: HashSet<VersionKey> = rows.iter().map(AppliedRow::key).collect();
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !applied.contains(&m.version_key()))
        .filter(|m| target.is_none_or(|target| &m.version_key() <= target))
        .collect();
    if let (false, Some(newest)) = (rules.out_of_order, rows.last()) {
        if let Some(old) = pending.iter().find(|m| m.version_key() < newest.key()) {
            return Err(MigrateError::OutOfOrder {
                file: old.display_path().to_owned(),
                newest_applied: newest.label(),
            });
        }
    }
    Ok(pending)
}

/// The migrations to revert, newest first, each with its version as recorded. Every one
/// must have a file with a down script, or nothing runs.
pub(crate) fn plan_down<'m>(
    migrations: &'m [Migration],
    rows: &[AppliedRow],
    target: &DownTarget,
    rules: Rules,
) -> Result<Vec<(&'m Migration, String)>, MigrateError> {
    check_history(migrations, rows, rules)?;
    let newest_first = rows.iter().rev();
    let to_revert: Vec<&AppliedRow> = match target {
        DownTarget::Steps(n) => newest_first.take(*n).collect(),
        DownTarget::To(key) => {
            ensure_known(migrations, rows, key)?;
            newest_first.filter(|row| &row.key() > key).collect()
        }
        DownTarget::All => newest_first.collect(),
    };
    let mut steps = Vec::new();
    let mut irreversible = Vec::new();
    for row in to_revert {
        match find(migrations, &row.key()) {
            Some(m) if m.down.is_some() => steps.push((m, row.version.clone())),
            Some(m) => irreversible.push(format!("{m} (no down script)")),
            None => irreversible.push(format!("{} (file missing)", row.label())),
        }
    }
    if !irreversible.is_empty() {
        return Err(MigrateError::Irreversible {
            migrations: irreversible,
        });
    }
    Ok(steps)
}

/// Refuses a target that is neither a migration nor an applied row.
fn ensure_known(
    migrations: &[Migration],
    rows: &[AppliedRow],
    target: &VersionKey,
) -> Result<(), MigrateError> {
    let known = find(migrations, target).is_some() || rows.iter().any(|r| &r.key() == target);
    match known {
        true => Ok(()),
        false => Err(MigrateError::UnknownVersion {
            version: target.to_string(),
        }),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
