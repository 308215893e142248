//! Diesel's own tracking table, for migrations written for Diesel that use it (Lemmy's puts
//! a trigger on it): Diesel creates it before any migration runs; ormkit does so only when
//! asked (`Migrator::diesel_compat`, `--diesel-compat`, codegen's `Config::diesel_compat`).

use super::{ApplyError, MigrationError};

/// Diesel's tracking table.
pub const DIESEL_TABLE: &str = "__diesel_schema_migrations";

/// The table as Diesel creates it (diesel_migrations' `CREATE_MIGRATIONS_TABLE`), in the
/// connection's current schema.
pub const DIESEL_TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)";

/// Adds the advice to turn the Diesel option on to `err` when it failed because Diesel's
/// table does not exist; `option` names the option where the error will be read (e.g.
/// `--diesel-compat (Migrator::diesel_compat)`).
pub fn advise_diesel_table(mut err: MigrationError, option: &str) -> MigrationError {
    if let MigrationError::Apply(failure) = &mut err {
        if failure.advice.is_none() && needs_diesel_table(failure) {
            failure.advice = Some(format!(
                "this migration uses Diesel's own {DIESEL_TABLE} table, which Diesel creates \
                 before the first migration and ormkit does not unless asked: turn on {option}"
            ));
        }
    }
    err
}

/// Whether `failure` is "relation __diesel_schema_migrations does not exist" (42P01).
fn needs_diesel_table(failure: &ApplyError) -> bool {
    failure.sqlstate.as_deref() == Some("42P01") && failure.message.contains(DIESEL_TABLE)
}
