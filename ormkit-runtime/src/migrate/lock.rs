//! The migration lock: a session-level advisory lock on a dedicated connection, taken by
//! polling.
//!
//! `pg_advisory_lock` would wait inside a statement, holding a snapshot the whole time; a
//! `CREATE INDEX CONCURRENTLY` run meanwhile by the migrator that holds the lock waits for
//! every older snapshot to go away, so the two would wait for each other forever. Polling
//! `pg_try_advisory_lock` holds a snapshot only for the instant of each poll.

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, PgPool};

use super::error::MigrateError;
use crate::pool::direct::SessionRequired;

/// The advisory lock key every ormkit Migrator takes (advisory locks are per database):
/// the bytes `ormkitmg`.
pub const LOCK_KEY: i64 = i64::from_be_bytes(*b"ormkitmg");

/// The first pause between polls; it doubles up to [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// The longest pause between polls.
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The connect options of the Migrator's own sessions (the lock's connection, on which the
/// migrations run with their session settings, and the blockers watcher's): `direct` when
/// given, else the pool's own — unless the pool goes through a transaction-mode pooler,
/// where a session lasts one transaction: then `ORMKIT_DIRECT_URL`'s, else a refusal naming
/// both.
pub(crate) fn session_options(
    pool: &PgPool,
    direct: Option<&str>,
) -> Result<PgConnectOptions, MigrateError> {
    let refusal = SessionRequired {
        feature: "the Migrator (its advisory lock and session settings)",
        option: "Migrator::direct_url",
    };
    crate::pool::direct::session_options(pool, direct, refusal).map_err(|err| {
        MigrateError::SessionRequired {
            origin: err.origin(),
            message: err.to_string(),
        }
    })
}

/// The Migrator's connection with `options`, under the connect timeout
/// (`ORMKIT_CONNECT_TIMEOUT_MS`, default 5 s); a failure names where and why.
pub(crate) async fn connect(options: &PgConnectOptions) -> Result<PgConnection, MigrateError> {
    let timeout = crate::connect::connect_timeout_from_env()
        .unwrap_or(crate::connect::DEFAULT_CONNECT_TIMEOUT);
    crate::connect::connect_with_timeout(options, timeout)
        .await
        .map_err(|err| MigrateError::Connect(Box::new(err)))
}

/// A dedicated connection holding the migration lock. The lock belongs to the session, so
/// dropping this (closing the socket) releases it even if [`MigrationLock::release`] is never
/// reached (a panic, a cancelled future).
pub(crate) struct MigrationLock {
    conn: PgConnection,
}

impl MigrationLock {
    /// Opens a connection with `options` and polls for the lock for up to `timeout`.
    pub(crate) async fn acquire(
        options: &PgConnectOptions,
        timeout: Duration,
    ) -> Result<MigrationLock, MigrateError> {
        let mut conn = connect(options).await?;
        let started = Instant::now();
        let mut pause = FIRST_POLL_INTERVAL;
        loop {
            let locked: bool = sqlx::query_scalar("SELECT pg_catalog.pg_try_advisory_lock($1)")
                .bind(LOCK_KEY)
                .fetch_one(&mut conn)
                .await
                .map_err(MigrateError::db("taking the migration lock"))?;
            if locked {
                return Ok(MigrationLock { conn });
            }
            let waited = started.elapsed();
            if waited >= timeout {
                let holder = lock_holder(&mut conn).await;
                let _closed = conn.close().await;
                return Err(MigrateError::LockTimeout {
                    waited,
                    key: LOCK_KEY,
                    holder,
                });
            }
            tokio::time::sleep(pause.min(timeout - waited)).await;
            pause = (pause * 2).min(MAX_POLL_INTERVAL);
        }
    }

    /// The connection the lock is held on; migrations run on it.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// Releases the lock and closes the connection. Closing alone would release it; the
    /// explicit unlock just makes it immediate.
    pub(crate) async fn release(mut self) {
        let _unlocked = sqlx::query("SELECT pg_catalog.pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut self.conn)
            .await;
        let _closed = self.conn.close().await;
    }
}

/// Whether some session holds the migration lock right now (for `status`).
pub(crate) async fn is_held(conn: &mut PgConnection) -> Result<bool, MigrateError> {
    Ok(lock_holder_query(conn)
        .await
        .map_err(MigrateError::db("reading pg_locks"))?
        .is_some())
}

/// The backend pid holding the lock, if it can be read.
async fn lock_holder(conn: &mut PgConnection) -> Option<i32> {
    lock_holder_query(conn).await.ok().flatten()
}

async fn lock_holder_query(conn: &mut PgConnection) -> Result<Option<i32>, sqlx::Error> {
    // A bigint advisory key shows in pg_locks as classid (high half), objid (low half) and
    // objsubid 1.
    let high = (LOCK_KEY >> 32) & 0xffff_ffff;
    let low = LOCK_KEY & 0xffff_ffff;
    sqlx::query_scalar(
        "SELECT pid FROM pg_catalog.pg_locks
         WHERE locktype = 'advisory' AND granted AND objsubid = 1
           AND database = (SELECT oid FROM pg_catalog.pg_database
                           WHERE datname = pg_catalog.current_database())
           AND classid::text::int8 = $1 AND objid::text::int8 = $2
         LIMIT 1",
    )
    .bind(high)
    .bind(low)
    .fetch_optional(conn)
    .await
}
