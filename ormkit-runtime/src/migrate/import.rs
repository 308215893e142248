//! Adopting the history another migrator kept, so a Diesel or sqlx project switches to ormkit
//! without re-running what is already applied: the versions recorded in
//! `__diesel_schema_migrations` or `_sqlx_migrations` become rows of `_ormkit_migrations`
//! (with the checksums of the files as they are now). The other tool's table is read, never
//! changed.

use chrono::{DateTime, Utc};
use ormkit_schema::migrations::{Migration, VersionKey};
use sqlx::{Connection, PgConnection};

use super::error::MigrateError;
use super::history::History;

/// Whose tracking table [`Migrator::import_history`](super::Migrator::import_history) reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForeignHistory {
    /// Diesel's `__diesel_schema_migrations` (version, run_on).
    Diesel,
    /// sqlx's `_sqlx_migrations` (version, installed_on, success, …).
    Sqlx,
}

impl ForeignHistory {
    /// The tool's name, for messages.
    pub fn tool(self) -> &'static str {
        match self {
            ForeignHistory::Diesel => "diesel",
            ForeignHistory::Sqlx => "sqlx",
        }
    }

    /// Its tracking table (found through `search_path`, as the tool itself finds it).
    pub fn table(self) -> &'static str {
        match self {
            ForeignHistory::Diesel => "__diesel_schema_migrations",
            ForeignHistory::Sqlx => "_sqlx_migrations",
        }
    }

    /// `(version, applied_at, success, execution_ms)` of every recorded migration.
    fn query(self) -> &'static str {
        match self {
            ForeignHistory::Diesel => {
                "SELECT version::text, run_on::timestamptz, true, 0::int8
                 FROM __diesel_schema_migrations"
            }
            // sqlx records execution_time in nanoseconds.
            ForeignHistory::Sqlx => {
                "SELECT version::text, installed_on, success, execution_time / 1000000
                 FROM _sqlx_migrations"
            }
        }
    }
}

impl std::str::FromStr for ForeignHistory {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "diesel" => Ok(ForeignHistory::Diesel),
            "sqlx" => Ok(ForeignHistory::Sqlx),
            other => Err(format!("{other:?} is not diesel or sqlx")),
        }
    }
}

/// The import's refusal, as a [`MigrateError::HistoryImport`].
fn refuse(from: ForeignHistory, message: String) -> MigrateError {
    MigrateError::HistoryImport {
        tool: from.tool(),
        message,
    }
}

/// Records every migration `from` has applied in `_ormkit_migrations`, in one transaction;
/// returns their `<version>_<name>`. Refuses, changing nothing, when ormkit already tracks
/// migrations here, when the tool's table is absent, when it records a failed migration,
/// or when it records a version with no migration file (unless `ignore_missing`).
pub(crate) async fn import(
    conn: &mut PgConnection,
    history: &History,
    migrations: &[Migration],
    from: ForeignHistory,
    ignore_missing: bool,
) -> Result<Vec<String>, MigrateError> {
    if !history.load(conn).await?.is_empty() {
        return Err(refuse(
            from,
            "_ormkit_migrations already records migrations; an import only starts a history".into(),
        ));
    }
    let found: Option<String> = sqlx::query_scalar("SELECT pg_catalog.to_regclass($1)::text")
        .bind(from.table())
        .fetch_one(&mut *conn)
        .await
        .map_err(MigrateError::db("looking for the other tool's table"))?;
    if found.is_none() {
        return Err(refuse(
            from,
            format!(
                "no table {} on the search path: nothing to import",
                from.table()
            ),
        ));
    }
    let rows: Vec<(String, DateTime<Utc>, bool, i64)> = sqlx::query_as(from.query())
        .fetch_all(&mut *conn)
        .await
        .map_err(MigrateError::db("reading the other tool's table"))?;
    let failed: Vec<&str> = rows.iter().filter(|r| !r.2).map(|r| r.0.as_str()).collect();
    if !failed.is_empty() {
        return Err(refuse(
            from,
            format!(
                "{} records failed migration(s) {}; finish or revert them with {} first",
                from.table(),
                failed.join(", "),
                from.tool()
            ),
        ));
    }
    let mut adopted = Vec::new();
    let mut unknown = Vec::new();
    for (version, applied_at, _, execution_ms) in &rows {
        let key = VersionKey::new(version);
        match migrations
            .iter()
            .find(|m| VersionKey::new(&m.version) == key)
        {
            Some(m) => adopted.push((m, *applied_at, *execution_ms)),
            None => unknown.push(version.as_str()),
        }
    }
    if !unknown.is_empty() && !ignore_missing {
        return Err(refuse(
            from,
            format!(
                "{} records version(s) {} that no migration file has; restore the files, or \
                 import with missing files ignored",
                from.table(),
                unknown.join(", ")
            ),
        ));
    }
    adopted.sort_by_key(|(m, ..)| VersionKey::new(&m.version));
    let mut tx = conn
        .begin()
        .await
        .map_err(MigrateError::db("starting the import"))?;
    for (m, applied_at, execution_ms) in &adopted {
        history
            .insert_imported(&mut tx, m, *applied_at, *execution_ms)
            .await?;
    }
    tx.commit()
        .await
        .map_err(MigrateError::db("committing the import"))?;
    Ok(adopted
        .iter()
        .map(|(m, ..)| format!("{}_{}", m.version, m.name))
        .collect())
}
