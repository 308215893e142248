//! The tracking table `_ormkit_migrations`: one row per applied (or failed) migration.

use chrono::{DateTime, Utc};
use ormkit_schema::migrations::{Migration, VersionKey};
use ormkit_schema::quote_ident;
use sqlx::{Executor, PgConnection};

use super::error::MigrateError;
use super::report::Direction;
use super::TRACKING_TABLE;

/// One row of the tracking table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppliedRow {
    /// The version as written when it was applied.
    pub(crate) version: String,
    pub(crate) name: String,
    /// The checksum of the up script that ran.
    pub(crate) checksum: String,
    /// When the migration started.
    pub(crate) applied_at: DateTime<Utc>,
    /// How long its script took.
    pub(crate) execution_ms: i64,
    /// False while a no-transaction script runs and after it failed.
    pub(crate) success: bool,
    /// When a no-transaction down script started, if one did and has not finished (the row
    /// is then not a success): a failed down, not a failed up.
    pub(crate) down_started_at: Option<DateTime<Utc>>,
}

/// A row as `SELECT {COLUMNS}` returns it.
type RawRow = (
    String,
    String,
    String,
    DateTime<Utc>,
    i64,
    bool,
    Option<DateTime<Utc>>,
);

impl AppliedRow {
    fn from_raw(raw: RawRow) -> Self {
        let (version, name, checksum, applied_at, execution_ms, success, down_started_at) = raw;
        AppliedRow {
            version,
            name,
            checksum,
            applied_at,
            execution_ms,
            success,
            down_started_at,
        }
    }

    /// Which script a failed row's migration was running: a down once one started.
    pub(crate) fn failed_direction(&self) -> Direction {
        match self.down_started_at {
            Some(_) => Direction::Down,
            None => Direction::Up,
        }
    }

    /// When the script a failed row records started.
    pub(crate) fn failed_started(&self) -> DateTime<Utc> {
        self.down_started_at.unwrap_or(self.applied_at)
    }

    pub(crate) fn key(&self) -> VersionKey {
        VersionKey::new(&self.version)
    }

    /// `<version>_<name>`.
    pub(crate) fn label(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }
}

/// Where the tracking table is: the connection's current schema, resolved once so that a
/// migration changing `search_path` cannot move it.
#[derive(Debug, Clone)]
pub(crate) struct History {
    schema: String,
    /// `"schema"."_ormkit_migrations"`.
    table: String,
}

const COLUMNS: &str = "version, name, checksum, applied_at, execution_ms, success, down_started_at";
/// The same columns from a table made before `down_started_at` existed (read by `status`,
/// which changes nothing).
const OLD_COLUMNS: &str =
    "version, name, checksum, applied_at, execution_ms, success, NULL::timestamptz";

impl History {
    /// Resolves the table's schema on `conn`.
    pub(crate) async fn locate(conn: &mut PgConnection) -> Result<History, MigrateError> {
        let schema: Option<String> = sqlx::query_scalar("SELECT pg_catalog.current_schema()::text")
            .fetch_one(conn)
            .await
            .map_err(MigrateError::db("reading the current schema"))?;
        // With an empty search_path there is no current schema: use public, like psql users
        // would expect.
        let schema = schema.unwrap_or_else(|| "public".to_owned());
        let table = format!("{}.{}", quote_ident(&schema), quote_ident(TRACKING_TABLE));
        Ok(History { schema, table })
    }

    /// Creates the table if it does not exist yet, and adds `down_started_at` to a table
    /// made before it existed (only then: `ALTER TABLE` takes an ACCESS EXCLUSIVE lock).
    pub(crate) async fn ensure(&self, conn: &mut PgConnection) -> Result<(), MigrateError> {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (
                version text PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                execution_ms bigint NOT NULL DEFAULT 0,
                success boolean NOT NULL,
                down_started_at timestamptz
            )",
            self.table
        );
        // `Executor::execute` rather than `RawSql::execute`: the latter's future cannot be
        // proven `Send` (a higher-ranked lifetime limitation of the compiler).
        conn.execute(sqlx::raw_sql(&sql))
            .await
            .map_err(MigrateError::db("creating _ormkit_migrations"))?;
        if !self.shape(conn).await?.1 {
            let alter = format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS down_started_at timestamptz",
                self.table
            );
            conn.execute(sqlx::raw_sql(&alter))
                .await
                .map_err(MigrateError::db(
                    "adding down_started_at to _ormkit_migrations",
                ))?;
        }
        Ok(())
    }

    /// Whether the table exists, and whether it has `down_started_at`.
    async fn shape(&self, conn: &mut PgConnection) -> Result<(bool, bool), MigrateError> {
        sqlx::query_as(
            "SELECT c.oid IS NOT NULL,
                    EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attname = 'down_started_at'
                              AND NOT a.attisdropped)
             FROM (SELECT 1) one
             LEFT JOIN (pg_catalog.pg_class c
                        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace)
               ON n.nspname = $1 AND c.relname = $2",
        )
        .bind(&self.schema)
        .bind(TRACKING_TABLE)
        .fetch_one(conn)
        .await
        .map_err(MigrateError::db("looking for _ormkit_migrations"))
    }

    /// Every row, oldest version first; none when the table does not exist.
    pub(crate) async fn load(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Vec<AppliedRow>, MigrateError> {
        let (exists, current) = self.shape(conn).await?;
        if !exists {
            return Ok(Vec::new());
        }
        let columns = if current { COLUMNS } else { OLD_COLUMNS };
        let sql = format!("SELECT {columns} FROM {}", self.table);
        let raw: Vec<RawRow> = sqlx::query_as(&sql)
            .fetch_all(conn)
            .await
            .map_err(MigrateError::db("reading _ormkit_migrations"))?;
        Ok(sorted(raw))
    }

    /// Records `migration` (its up script's checksum), applied now.
    pub(crate) async fn insert(
        &self,
        conn: &mut PgConnection,
        migration: &Migration,
        execution_ms: i64,
        success: bool,
    ) -> Result<(), MigrateError> {
        self.record(conn, migration, None, execution_ms, success)
            .await
            .map_err(MigrateError::db(
                "recording the migration in _ormkit_migrations",
            ))
    }

    /// Records `migration` as applied at `applied_at` by another tool (an import).
    pub(crate) async fn insert_imported(
        &self,
        conn: &mut PgConnection,
        migration: &Migration,
        applied_at: DateTime<Utc>,
        execution_ms: i64,
    ) -> Result<(), MigrateError> {
        self.record(conn, migration, Some(applied_at), execution_ms, true)
            .await
            .map_err(MigrateError::db("recording an imported migration"))
    }

    /// One row; `applied_at` defaults to now.
    async fn record(
        &self,
        conn: &mut PgConnection,
        migration: &Migration,
        applied_at: Option<DateTime<Utc>>,
        execution_ms: i64,
        success: bool,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, applied_at, execution_ms, success)
             VALUES ($1, $2, $3, COALESCE($4, now()), $5, $6)",
            self.table
        );
        sqlx::query(&sql)
            .bind(&migration.version)
            .bind(&migration.name)
            .bind(&migration.up.checksum)
            .bind(applied_at)
            .bind(execution_ms)
            .bind(success)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Sets a row's outcome.
    pub(crate) async fn set_outcome(
        &self,
        conn: &mut PgConnection,
        version: &str,
        execution_ms: i64,
        success: bool,
    ) -> Result<(), MigrateError> {
        let sql = format!(
            "UPDATE {} SET execution_ms = $2, success = $3 WHERE version = $1",
            self.table
        );
        sqlx::query(&sql)
            .bind(version)
            .bind(execution_ms)
            .bind(success)
            .execute(conn)
            .await
            .map_err(MigrateError::db("updating _ormkit_migrations"))?;
        Ok(())
    }

    /// Marks a row failed because its no-transaction down script starts now; its up's
    /// `applied_at` and `execution_ms` stay as they were.
    pub(crate) async fn mark_down_started(
        &self,
        conn: &mut PgConnection,
        version: &str,
    ) -> Result<(), MigrateError> {
        let sql = format!(
            "UPDATE {} SET success = false, down_started_at = now() WHERE version = $1",
            self.table
        );
        sqlx::query(&sql)
            .bind(version)
            .execute(conn)
            .await
            .map_err(MigrateError::db("updating _ormkit_migrations"))?;
        Ok(())
    }

    /// Removes a row (a reverted migration).
    pub(crate) async fn delete(
        &self,
        conn: &mut PgConnection,
        version: &str,
    ) -> Result<(), MigrateError> {
        let sql = format!("DELETE FROM {} WHERE version = $1", self.table);
        sqlx::query(&sql)
            .bind(version)
            .execute(conn)
            .await
            .map_err(MigrateError::db(
                "removing the migration from _ormkit_migrations",
            ))?;
        Ok(())
    }

    /// Removes every failed row; returns them.
    pub(crate) async fn delete_failed(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Vec<AppliedRow>, MigrateError> {
        let sql = format!(
            "DELETE FROM {} WHERE NOT success RETURNING {COLUMNS}",
            self.table
        );
        let raw: Vec<RawRow> = sqlx::query_as(&sql)
            .fetch_all(conn)
            .await
            .map_err(MigrateError::db("repairing _ormkit_migrations"))?;
        Ok(sorted(raw))
    }
}

/// Rows in version order.
fn sorted(raw: Vec<RawRow>) -> Vec<AppliedRow> {
    let mut rows: Vec<AppliedRow> = raw.into_iter().map(AppliedRow::from_raw).collect();
    rows.sort_by_key(AppliedRow::key);
    rows
}
