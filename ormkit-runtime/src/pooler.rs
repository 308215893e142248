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
//! `ORMKIT_DIRECT_URL`, unless given a URL that reaches PostgreSQL directly.

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use crate::registry::PoolRegistry;
use sqlx::postgres::PgConnectOptions;
use sqlx::{PgPool, Postgres, Transaction};
use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The variable naming a URL that reaches PostgreSQL directly, for session-bound features
/// of a pool behind a transaction-mode pooler.
pub const DIRECT_URL_ENV: &str = "ORMKIT_DIRECT_URL";

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
    /// shared between clients' transactions. See the [module documentation](self).
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

/// A transaction on `pool`, begun with [`PINNED_BEGIN`] when its statements are pinned.
pub(crate) async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    match begin_statement(pool) {
        Some(statement) => pool.begin_with(statement).await,
        None => pool.begin().await,
    }
}

/// A session-bound feature refused on a pool behind a transaction-mode pooler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRequired {
    /// What needed a session, e.g. `the Migrator's advisory lock`.
    pub(crate) feature: &'static str,
    /// The option that gives it a direct URL, e.g. `Migrator::direct_url`.
    pub(crate) option: &'static str,
}

impl std::fmt::Display for SessionRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} needs a PostgreSQL session of its own, but its pool goes through a \
             transaction-mode pooler (PoolConfig::pooler / ORMKIT_POOLER=transaction), which \
             hands the session to other clients between transactions; set {DIRECT_URL_ENV} \
             (or {}) to a URL that reaches PostgreSQL directly",
            self.feature, self.option
        )
    }
}

/// The connect options a session-bound `feature` uses: `direct` when given; else `pool`'s
/// own when its connections are sessions of their own; else `ORMKIT_DIRECT_URL`'s; else
/// the refusal.
pub(crate) fn session_options(
    pool: &PgPool,
    direct: Option<&str>,
    refusal: SessionRequired,
) -> Result<PgConnectOptions, SessionOptionsError> {
    session_options_with(pool, direct, refusal, |name| std::env::var(name).ok())
}

/// [`session_options`], reading variables through `lookup`.
pub(crate) fn session_options_with(
    pool: &PgPool,
    direct: Option<&str>,
    refusal: SessionRequired,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<PgConnectOptions, SessionOptionsError> {
    let parse = |url: &str, origin: &'static str| {
        PgConnectOptions::from_str(url)
            .map_err(|source| SessionOptionsError::Url { origin, source })
    };
    if let Some(url) = direct {
        return parse(url, refusal.option);
    }
    if sessions(pool) == Sessions::Own {
        return Ok((*pool.connect_options()).clone());
    }
    match lookup(DIRECT_URL_ENV).filter(|url| !url.trim().is_empty()) {
        Some(url) => parse(&url, DIRECT_URL_ENV),
        None => Err(SessionOptionsError::Refused(refusal)),
    }
}

/// Why no session could be had.
#[derive(Debug)]
pub(crate) enum SessionOptionsError {
    /// Through a transaction-mode pooler, with no direct URL.
    Refused(SessionRequired),
    /// The direct URL does not parse.
    Url {
        /// Where it came from (`ORMKIT_DIRECT_URL`, an option).
        origin: &'static str,
        source: sqlx::Error,
    },
}

impl std::fmt::Display for SessionOptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionOptionsError::Refused(refusal) => refusal.fmt(f),
            SessionOptionsError::Url { origin, source } => {
                write!(f, "the direct URL from {origin} is invalid: {source}")
            }
        }
    }
}

impl SessionOptionsError {
    /// The variable or option at fault.
    pub(crate) fn origin(&self) -> &'static str {
        match self {
            SessionOptionsError::Refused(_) => DIRECT_URL_ENV,
            SessionOptionsError::Url { origin, .. } => origin,
        }
    }
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
