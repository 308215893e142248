//! What changed between the committed `schema.lock` and the one the build made, in one
//! line: "2 migrations added (…), 1 query changed (…)". The out-of-date warning, the
//! `ORMKIT_UPDATE_LOCK=1` note and the `ORMKIT_LOCKED=1` error all start from it; the full
//! diff is shown only on request (`ORMKIT_VERBOSE=1`, `ormkit-cli lock --check`) or by the
//! `ORMKIT_LOCKED=1` error.

use crate::error::{CodegenError, Result};
use crate::pipeline::{env_flag, write_if_changed, LockStatus};
use ormkit_schema::schema_lock::short_diff;
use ormkit_schema::{LockedQuery, SchemaLock};
use std::path::Path;

/// How many names a summary lists per kind of change before it says "…".
const NAMES_SHOWN: usize = 3;

/// What the environment asks of a committed lock that differs from the fresh one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LockFlags {
    /// `ORMKIT_UPDATE_LOCK=1`: write it.
    pub(crate) update: bool,
    /// `ORMKIT_LOCKED=1`: fail.
    pub(crate) locked: bool,
    /// `ORMKIT_VERBOSE=1`: the warning carries the diff.
    pub(crate) verbose: bool,
}

impl LockFlags {
    pub(crate) fn from_env() -> Self {
        LockFlags {
            update: env_flag("ORMKIT_UPDATE_LOCK"),
            locked: env_flag("ORMKIT_LOCKED"),
            verbose: env_flag("ORMKIT_VERBOSE"),
        }
    }
}

/// How many lines of diff the `ORMKIT_LOCKED=1` error and `ORMKIT_VERBOSE=1` show.
const DIFF_LINES: usize = 40;

/// The committed lock (`None`: no file) against the fresh one: the status, and the warning
/// to print. A lock that differs gets a short warning (what changed, with counts, and the
/// command that refreshes it), the diff only under `ORMKIT_VERBOSE=1`;
/// `ORMKIT_UPDATE_LOCK=1` writes it and says what it wrote; `ORMKIT_LOCKED=1` fails with
/// the summary and the diff.
pub(crate) fn settle(
    fresh: &SchemaLock,
    committed: Option<&str>,
    path: &Path,
    flags: LockFlags,
) -> Result<(LockStatus, Option<String>)> {
    let text = fresh.to_text();
    if committed == Some(text.as_str()) {
        return Ok((LockStatus::UpToDate, None));
    }
    let summary = summary(committed, fresh);
    if flags.update {
        write_if_changed(path, text.as_bytes())?;
        let note = format!("ormkit: wrote {} ({summary})", path.display());
        return Ok((LockStatus::Written, Some(note)));
    }
    let diff = short_diff(committed.unwrap_or(""), &text, DIFF_LINES);
    if flags.locked {
        return Err(CodegenError::LockedMismatch {
            path: path.to_owned(),
            summary,
            diff,
        });
    }
    let refresh = ormkit_schema::schema_lock::refresh_command();
    Ok(match committed {
        // The first build writes the lock: without it, the `rerun-if-changed` on a file
        // that does not exist would make cargo run the generator on every build.
        None => match write_if_changed(path, text.as_bytes()) {
            Ok(_) => (
                LockStatus::Created,
                Some(format!(
                    "ormkit: wrote {} (the schema your migrations produce); commit it",
                    path.display()
                )),
            ),
            Err(err) => (
                LockStatus::Missing,
                Some(format!(
                    "ormkit: {} does not exist and could not be written ({err}); create it \
                     with `{refresh}` and commit it",
                    path.display()
                )),
            ),
        },
        Some(_) => {
            let mut warning = format!(
                "ormkit: {} is out of date: {summary}; refresh it with `{refresh}`",
                path.display()
            );
            if flags.verbose {
                warning.push_str(":\n");
                warning.push_str(&diff);
            } else {
                warning.push_str(" (the diff: ORMKIT_VERBOSE=1, or `ormkit-cli lock --check`)");
            }
            (LockStatus::Differs(diff), Some(warning))
        }
    })
}

/// One line saying how `fresh` differs from the committed lock text (`None`: no lock yet).
pub(crate) fn summary(committed: Option<&str>, fresh: &SchemaLock) -> String {
    let Some(text) = committed else {
        return "new file".into();
    };
    let old = match SchemaLock::parse(text, "schema.lock") {
        Ok(old) => old,
        Err(err) => return format!("the committed file could not be read ({err})"),
    };
    let drift = old.drift(&fresh.migrations);
    let mut parts = Vec::new();
    for (label, names) in [
        ("added", &drift.added),
        ("removed", &drift.removed),
        ("changed", &drift.changed),
    ] {
        push(&mut parts, names, "migration", label);
    }
    let queries = query_changes(&old.queries, &fresh.queries);
    for (label, names) in [
        ("added", &queries[0]),
        ("removed", &queries[1]),
        ("changed", &queries[2]),
    ] {
        push(&mut parts, names, "query", label);
    }
    if parts.is_empty() {
        return if old.schema == fresh.schema {
            "its layout differs (same migrations, queries and schema: written by another \
             ormkit version?)"
                .into()
        } else {
            "the schema it records differs (same migrations and queries: another PostgreSQL \
             or ormkit version?)"
                .into()
        };
    }
    parts.join(", ")
}

/// `2 migrations added (a, b)`, when `names` is not empty.
fn push(parts: &mut Vec<String>, names: &[String], noun: &str, label: &str) {
    if names.is_empty() {
        return;
    }
    let plural = match (names.len(), noun) {
        (1, _) => noun.to_owned(),
        (_, "query") => "queries".to_owned(),
        _ => format!("{noun}s"),
    };
    let mut shown = names
        .iter()
        .take(NAMES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_SHOWN {
        shown.push_str(", …");
    }
    parts.push(format!("{} {plural} {label} ({shown})", names.len()));
}

/// The queries added, removed and changed (by file and name), named `file name`.
fn query_changes(old: &[LockedQuery], new: &[LockedQuery]) -> [Vec<String>; 3] {
    let same = |a: &LockedQuery, b: &LockedQuery| a.file == b.file && a.name == b.name;
    let label = |q: &LockedQuery| format!("{} {}", q.file, q.name);
    let mut changes: [Vec<String>; 3] = Default::default();
    for query in new {
        match old.iter().find(|o| same(o, query)) {
            None => changes[0].push(label(query)),
            Some(o) if o != query => changes[2].push(label(query)),
            Some(_) => {}
        }
    }
    for query in old {
        if !new.iter().any(|n| same(n, query)) {
            changes[1].push(label(query));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use ormkit_schema::{LockedMigration, SchemaModel};

    fn migration(version: &str, checksum: &str) -> LockedMigration {
        LockedMigration {
            version: version.into(),
            name: format!("step{version}"),
            checksum: checksum.into(),
        }
    }

    fn query(name: &str, checksum: &str) -> LockedQuery {
        LockedQuery {
            file: "users.sql".into(),
            name: name.into(),
            checksum: checksum.into(),
            kind: "many".into(),
            reads_only: true,
            params: Vec::new(),
            columns: Vec::new(),
        }
    }

    fn lock(migrations: Vec<LockedMigration>, queries: Vec<LockedQuery>) -> SchemaLock {
        let mut lock = SchemaLock::new(migrations, SchemaModel::default());
        lock.queries = queries;
        lock
    }

    #[test]
    fn counts_and_names_what_changed() {
        let old = lock(vec![migration("1", "a")], vec![query("by_email", "q")]);
        let new = lock(
            vec![
                migration("1", "a"),
                migration("2", "b"),
                migration("3", "c"),
            ],
            vec![query("by_email", "r")],
        );
        assert_eq!(
            summary(Some(&old.to_text()), &new),
            "2 migrations added (2_step2, 3_step3), 1 query changed (users.sql by_email)"
        );
        let new = lock(
            vec![migration("1", "z")],
            (0..5).map(|i| query(&format!("q{i}"), "x")).collect(),
        );
        assert_eq!(
            summary(Some(&old.to_text()), &new),
            "1 migration changed (1_step1), 5 queries added (users.sql q0, users.sql q1, \
             users.sql q2, …), 1 query removed (users.sql by_email)"
        );
    }

    #[test]
    fn says_when_only_the_file_differs() {
        let old = lock(vec![migration("1", "a")], Vec::new());
        assert_eq!(summary(None, &old), "new file");
        assert!(
            summary(Some("{"), &old).starts_with("the committed file could not be read ("),
            "{}",
            summary(Some("{"), &old)
        );
        let text = old.to_text().replace("\n  ", "\n    ");
        assert_eq!(
            summary(Some(&text), &old),
            "its layout differs (same migrations, queries and schema: written by another \
             ormkit version?)"
        );
    }

    /// The texts a build prints: a migration added, a query edited alone, and what
    /// `ORMKIT_UPDATE_LOCK=1` wrote; `ORMKIT_LOCKED=1` keeps the diff.
    #[test]
    fn the_build_says_what_changed_in_a_line_and_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("schema.lock");
        let committed = lock(vec![migration("1", "a")], vec![query("by_email", "q")]);
        let committed = committed.to_text();
        let refresh = ormkit_schema::schema_lock::refresh_command();
        let quiet = LockFlags::default();

        let migrated = lock(
            vec![migration("1", "a"), migration("2", "b")],
            vec![query("by_email", "q")],
        );
        let (status, warning) = settle(&migrated, Some(&committed), &path, quiet).unwrap();
        assert!(matches!(status, LockStatus::Differs(_)), "{status:?}");
        assert_eq!(
            warning.unwrap(),
            format!(
                "ormkit: {} is out of date: 1 migration added (2_step2); refresh it with \
                 `{refresh}` (the diff: ORMKIT_VERBOSE=1, or `ormkit-cli lock --check`)",
                path.display()
            )
        );

        let edited = lock(vec![migration("1", "a")], vec![query("by_email", "r")]);
        let (_, warning) = settle(&edited, Some(&committed), &path, quiet).unwrap();
        assert_eq!(
            warning.unwrap(),
            format!(
                "ormkit: {} is out of date: 1 query changed (users.sql by_email); refresh it \
                 with `{refresh}` (the diff: ORMKIT_VERBOSE=1, or `ormkit-cli lock --check`)",
                path.display()
            )
        );
        let verbose = LockFlags {
            verbose: true,
            ..quiet
        };
        let (_, warning) = settle(&edited, Some(&committed), &path, verbose).unwrap();
        let warning = warning.unwrap();
        assert!(
            warning.contains(":\n--- schema.lock (committed)"),
            "{warning}"
        );
        assert!(
            warning
                .contains("+    {\"file\":\"users.sql\",\"name\":\"by_email\",\"checksum\":\"r\""),
            "{warning}"
        );

        let locked = LockFlags {
            locked: true,
            ..quiet
        };
        let err = settle(&migrated, Some(&committed), &path, locked).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("differs from the schema the migrations produce: 1 migration added (2_step2) (ORMKIT_LOCKED=1 forbids that)"),
            "{err}"
        );
        assert!(
            err.contains("+    {\"version\":\"2\",\"name\":\"step2\""),
            "{err}"
        );
        assert!(!path.exists(), "only an update writes");

        let update = LockFlags {
            update: true,
            ..quiet
        };
        let (status, note) = settle(&migrated, Some(&committed), &path, update).unwrap();
        assert_eq!(status, LockStatus::Written);
        assert_eq!(
            note.unwrap(),
            format!(
                "ormkit: wrote {} (1 migration added (2_step2))",
                path.display()
            )
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), migrated.to_text());
        let (status, note) = settle(&migrated, Some(&migrated.to_text()), &path, update).unwrap();
        assert_eq!((status, note), (LockStatus::UpToDate, None));
    }
}
