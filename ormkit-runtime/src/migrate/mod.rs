//! The Migrator: applies and reverts migrations on a live database, tracking them in
//! `_ormkit_migrations`.
//!
//! Migrations come embedded in the binary by the generated code ([`Migrator::new`] with
//! `entities::MIGRATIONS`, checksums computed at build time and used as they are) or from a
//! directory ([`Migrator::from_dir`], Diesel's or sqlx's layout, checksummed when read);
//! both are [`crate::Migration`]s. Discovery, checksums and script execution are
//! `ormkit_schema::migrations`, the code the build uses; this module adds the bookkeeping
//! and the safety rules:
//!
//! - **one transaction per migration**, the tracking row written in it, so a failing
//!   migration leaves nothing but its error (file, line, SQLSTATE, message);
//! - **no-transaction scripts** (`-- ormkit:no-transaction`, sqlx's `-- no-transaction`,
//!   Diesel's `run_in_transaction = false`) run statement by statement; their row is written
//!   as *failed* before they start and marked successful after, so a script that breaks
//!   partway (or a killed process) shows as failed in [`Migrator::status`] and blocks further
//!   runs until a person has looked and called [`Migrator::repair`];
//! - **one migrator at a time**: a session-level advisory lock on a dedicated connection,
//!   taken by *polling* `pg_try_advisory_lock` until [`Migrator::lock_timeout`]. A blocking
//!   `pg_advisory_lock` would keep a snapshot open while it waits, and `CREATE INDEX
//!   CONCURRENTLY` run by the migrator holding the lock waits for every such snapshot: a
//!   deadlock no one detects. Between polls a waiting migrator holds no snapshot at all;
//! - **no silent waits behind table locks**: every migration's statements run with a
//!   `lock_timeout` ([`Migrator::statement_lock_timeout`], 5 s by default) and optionally a
//!   `statement_timeout`; while a statement waits for a lock, the blocking sessions (pid,
//!   application_name, state, query, since when) are reported ([`Migrator::on_lock_wait`],
//!   [`LockWait`]); a migration its lock timeout ended is run again with backoff
//!   ([`Migrator::lock_retries`]) — whole when it ran in a transaction (rolled back, nothing
//!   applied), from the timed-out statement for a no-transaction script (never a
//!   `… CONCURRENTLY` one) — and then fails naming the blockers
//!   ([`MigrateError::LockConflict`]);
//! - **history checks before anything runs**: an applied migration whose file changed, an
//!   applied migration whose file is gone, a pending migration older than the newest applied
//!   one, a step to revert that has no down script — each refused with the file, the
//!   versions and the checksums involved.
//!
//! ```no_run
//! # async fn run(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::migrate::MigrateError> {
//! use ormkit::migrate::Migrator;
//!
//! let report = Migrator::from_dir(&pool, "migrations")?.migrate_up().await?;
//! for step in &report.steps {
//!     println!("applied {step}");
//! }
//! # Ok(())
//! # }
//! ```

mod blockers;
mod diesel;
mod error;
mod history;
mod import;
mod lock;
mod migrator;
mod plan;
mod report;
mod run;
mod settings;
mod status;

pub use blockers::{Blocker, LockWait};
pub use error::MigrateError;
pub use import::ForeignHistory;
pub use lock::LOCK_KEY;
pub use migrator::Migrator;
pub use ormkit_schema::migrations::DiscoveryWarning;
pub use report::{Direction, MigrateReport, Step};
pub use settings::{
    DEFAULT_LOCK_RETRIES, DEFAULT_LOCK_RETRY_BACKOFF, DEFAULT_STATEMENT_LOCK_TIMEOUT,
};
pub use status::{MigrationState, MigrationStatus, StatusReport};

/// The table the Migrator records applied migrations in, created on first use in the
/// connection's current schema.
pub const TRACKING_TABLE: &str = "_ormkit_migrations";
