//! Connection poolers in front of PostgreSQL (PgBouncer): what ormkit does differently for a
//! pool behind one, and which features refuse to run through one.
//!
//! In PgBouncer's transaction mode a client's session lasts one transaction: between two
//! transactions (or two statements outside one) the client may be handed another server
//! connection. sqlx parses a statement and binds it in two round trips, each ended by a
//! `Sync`; outside a transaction the pooler may send the second to another server, where the
//! statement does not exist (or, worse, where another client's unnamed statement does).
//! Named statements collide (`prepared statement "sqlx_s_1" already exists`) because every
//! client numbers its own from 1. So, for such a pool, unless the pooler tracks prepared
//! statements itself (PgBouncer ≥ 1.21 with `max_prepared_statements`), ormkit runs:
//!
//! - every statement outside a transaction in one of its own, begun with
//!   `BEGIN; DEALLOCATE ALL` (one round trip: the server connection is then this client's
//!   until `COMMIT`, and no statement name left on it by another client can collide);
//! - every transaction begun the same way;
//! - with sqlx's statement cache off (a cached statement would be sought on another server).
//!
//! Session-bound features — the Migrator's advisory lock and session settings, the entity
//! cache's `LISTEN` connection — cannot work through such a pooler: they refuse, naming
//! `ORMKIT_DIRECT_URL`, unless given a URL that reaches PostgreSQL directly
//! (`crate::pool::direct`).

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use crate::pool::registry::PoolRegistry;
#[cfg(feature = "smart-pool")]
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a pool's connections go through (`PoolConfig::pooler`, `ORMKIT_POOLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// Straight to PostgreSQL: each connection is a session of its own.
    #[default]
    Direct,
    /// A session-mode pooler (PgBouncer `pool_mode = session`): a connection is still a
    /// session of its own; only startup parameters the pooler refuses are left out.
    Session,
    /// A transaction-mode pooler (PgBouncer `pool_mode = transaction`): sessions are
    /// shared between clients' transactions. Unless the pooler tracks prepared statements
    /// itself (PgBouncer ≥ 1.21 with `max_prepared_statements`, detected when the smart pool
    /// is made), sqlx's statement cache is turned off and every statement outside a
    /// transaction runs in one of its own, begun with `BEGIN; DEALLOCATE ALL`, so that it
    /// keeps one server connection and no statement name collides on it; transactions begin
    /// the same way. Session-bound features (the Migrator, the entity cache's `LISTEN`) need
    /// `ORMKIT_DIRECT_URL` or their `direct_url` option.
    Transaction,
}

impl Pooler {
    /// `direct`, `session`, `transaction` (what `ORMKIT_POOLER` takes).
    pub fn as_str(self) -> &'static str {
        match self {
            Pooler::Direct => "direct",
            Pooler::Session => "session",
            Pooler::Transaction => "transaction",
        }
    }
}

impl std::str::FromStr for Pooler {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "direct" | "none" => Ok(Pooler::Direct),
            "session" => Ok(Pooler::Session),
            "transaction" => Ok(Pooler::Transaction),
            other => Err(format!(
                "{other:?} is not a pooler mode: expected direct, session or transaction"
            )),
        }
    }
}

/// How ormkit runs statements on a pool, as far as sessions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sessions {
    /// Each connection is one PostgreSQL session (direct, or a session-mode pooler).
    Own,
    /// A transaction-mode pooler that tracks protocol-level prepared statements: statements
    /// run as usual, but sessions are shared.
    #[cfg_attr(not(feature = "smart-pool"), allow(dead_code))]
    SharedTracked,
    /// A transaction-mode pooler that does not: every statement is pinned in a transaction
    /// begun with [`PINNED_BEGIN`].
    SharedPinned,
}

/// How a pinned statement's (or a transaction's) own transaction begins, in one round trip.
pub(crate) const PINNED_BEGIN: &str = "BEGIN; DEALLOCATE ALL";

static POOLS: PoolRegistry<Sessions> = PoolRegistry::new();
/// Whether any pool was ever registered as shared: until then nothing is looked up.
static ANY_SHARED: AtomicBool = AtomicBool::new(false);

/// Records how `pool`'s sessions work (the smart pool does, for the pool it creates).
#[cfg_attr(not(feature = "smart-pool"), allow(dead_code))]
pub(crate) fn register(pool: &PgPool, sessions: Sessions) {
    if sessions != Sessions::Own {
        ANY_SHARED.store(true, Ordering::Release);
    }
    POOLS.insert(pool, Arc::new(sessions));
}

/// How `pool`'s sessions work: [`Sessions::Own`] unless it was registered otherwise.
pub(crate) fn sessions(pool: &PgPool) -> Sessions {
    if !ANY_SHARED.load(Ordering::Acquire) {
        return Sessions::Own;
    }
    POOLS.get(pool).map_or(Sessions::Own, |sessions| *sessions)
}

/// Whether statements on `pool` must each run in a transaction of their own.
pub(crate) fn pinned(pool: &PgPool) -> bool {
    sessions(pool) == Sessions::SharedPinned
}

/// The statement that begins a transaction on `pool`: `None` for sqlx's plain `BEGIN`.
pub(crate) fn begin_statement(pool: &PgPool) -> Option<&'static str> {
    pinned(pool).then_some(PINNED_BEGIN)
}

/// A transaction on `pool`, begun with [`PINNED_BEGIN`] when its statements are pinned; safe
/// to drop at any await point ([`crate::pool::tx`]).
#[cfg(feature = "orm")]
pub(crate) async fn begin(pool: &PgPool) -> Result<crate::pool::tx::PoolTx, sqlx::Error> {
    crate::pool::tx::begin(pool, begin_statement(pool)).await
}

/// Whether the transaction-mode pooler behind `options` keeps track of prepared statements
/// itself: a named statement prepared through it shows on the server under a name of the
/// pooler's (`PGBOUNCER_…`, PgBouncer ≥ 1.21 with `max_prepared_statements`). Everything
/// runs in one transaction, so the pooler keeps one server connection for the check.
#[cfg(feature = "smart-pool")]
pub(crate) async fn detect(options: &PgConnectOptions) -> Result<Sessions, sqlx::Error> {
    use sqlx::{Connection as _, Executor as _, Row as _};
    let options = options.clone().statement_cache_capacity(0);
    let mut conn = sqlx::PgConnection::connect_with(&options).await?;
    let checked = async {
        conn.execute(sqlx::raw_sql("BEGIN")).await?;
        // sqlx names every statement it prepares (`sqlx_s_1`): a pooler that does not track
        // them may already have one of that name on this server connection.
        match conn.prepare("SELECT 1").await {
            Err(sqlx::Error::Database(err)) if err.code().as_deref() == Some("42P05") => {
                return Ok(Sessions::SharedPinned);
            }
            other => drop(other?),
        }
        let row = conn
            .fetch_one(sqlx::raw_sql(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_statements \
                 WHERE name LIKE 'PGBOUNCER\\_%')::text",
            ))
            .await?;
        let tracked = row.try_get::<String, _>(0)? == "true";
        Ok(if tracked {
            Sessions::SharedTracked
        } else {
            Sessions::SharedPinned
        })
    }
    .await;
    let _ = conn.close().await;
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooler_modes_parse() {
        assert_eq!("transaction".parse(), Ok(Pooler::Transaction));
        assert_eq!(" Session ".parse(), Ok(Pooler::Session));
        assert_eq!("none".parse(), Ok(Pooler::Direct));
        let err = "statement".parse::<Pooler>().unwrap_err();
        assert!(err.contains("direct, session or transaction"), "{err}");
        assert_eq!(Pooler::Transaction.as_str(), "transaction");
    }
}
