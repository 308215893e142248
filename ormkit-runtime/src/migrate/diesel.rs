//! [`Migrator::diesel_compat`](super::Migrator::diesel_compat): Diesel's own tracking table
//! on a database Diesel never ran on, for migrations written for Diesel that use it.
//!
//! The table is created, empty, and never written: ormkit records its history in
//! `_ormkit_migrations` only. Filling it is what such migrations forbid (Lemmy's trigger on
//! it refuses every write not made by the application), and a project that moved to ormkit
//! has no Diesel to read it.

use ormkit_schema::migrations::DIESEL_TABLE_DDL;
use sqlx::{Executor as _, PgConnection};

use super::error::MigrateError;

/// Creates `__diesel_schema_migrations` with Diesel's DDL in the current schema (where
/// Diesel creates it, and where `_ormkit_migrations` is), unless it exists.
pub(crate) async fn ensure_table(conn: &mut PgConnection) -> Result<(), MigrateError> {
    conn.execute(sqlx::raw_sql(DIESEL_TABLE_DDL))
        .await
        .map_err(MigrateError::db("creating __diesel_schema_migrations"))?;
    Ok(())
}
