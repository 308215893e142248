//! [`create_smart_pool`]: a pool tuned for an ORM's workload. sqlx's default pings the server
//! on every acquire (a round trip per query); this pool checks a connection only when it has
//! been idle a while, keeps warm connections, and fails at its deadline instead of hanging.
//! sqlx also checks every connection on release (another round trip); ormkit's own statements
//! skip that: a connection whose statement ended cleanly is parked in the pool's lane
//! (`crate::pool::lane`) for the next one.
//! Before the pool is built, one connection is made under [`PoolConfig::connect_timeout`]:
//! a server that is down, unreachable, or that refuses us (TLS, password, database) fails
//! at once with an [`OrmkitError::Connect`] naming where and why, instead of sqlx's retrying
//! a refused port until the acquire timeout and reporting only that.
//! Behind PgBouncer it is told the pool mode ([`PoolConfig::pooler`]) and runs statements so
//! that they work in it.

use crate::error::{OrmkitError, Result};
use crate::pool::health::PoolHealth;
use crate::pool::pooler::{Pooler, Sessions};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgPool};
use std::sync::Arc;
use std::time::Duration;

/// Pool settings; every field can be set in code or by an `ORMKIT_POOL_*` variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once (`ORMKIT_POOL_MAX`, default 50).
    pub max_connections: u32,
    /// Connections kept open when idle (`ORMKIT_POOL_MIN`, default 10).
    pub min_connections: u32,
    /// How long `acquire` waits before failing (`ORMKIT_POOL_ACQUIRE_TIMEOUT_MS`, default 30 s).
    /// When it fails, the error says whether every connection stayed in use
    /// ([`OrmkitError::PoolExhausted`]) or the server could not be reached
    /// ([`OrmkitError::Connect`], from one more attempt under `connect_timeout`).
    pub acquire_timeout: Duration,
    /// How long one connection attempt may take: resolving, TCP, TLS and authentication
    /// (`ORMKIT_CONNECT_TIMEOUT_MS`, default 5 s). [`create_smart_pool_with`] makes one
    /// connection under it before building the pool, so a server that is down or refuses
    /// us fails within it, with the cause.
    pub connect_timeout: Duration,
    /// A connection idle longer than this is pinged before use
    /// (`ORMKIT_POOL_CHECK_IDLE_AFTER_MS`, default 250 ms). Busy connections are never
    /// pinged; after a restart or failover (which takes longer than this), every connection
    /// that outlived the old server is checked and replaced before a statement uses it. So
    /// is any connection released before a statement anywhere in the process failed on its
    /// connection.
    pub check_idle_after: Duration,
    /// Idle connections above the minimum are closed after this (`ORMKIT_POOL_IDLE_TIMEOUT_MS`,
    /// default 10 min).
    pub idle_timeout: Duration,
    /// Connections are replaced after this age (`ORMKIT_POOL_MAX_LIFETIME_MS`, default 30 min).
    pub max_lifetime: Duration,
    /// What the URL reaches (`ORMKIT_POOLER`: `direct`, `session` or `transaction`; default
    /// direct). Behind PgBouncer, say which mode it runs in: sqlx's `extra_float_digits`
    /// startup parameter, which PgBouncer refuses, is left out; in transaction mode statements
    /// are run so that no prepared statement is sought on, or collides on, another client's
    /// server connection (see [`Pooler::Transaction`]), and session-bound features ask for
    /// `ORMKIT_DIRECT_URL`.
    pub pooler: Pooler,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 50,
            min_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: crate::connect::DEFAULT_CONNECT_TIMEOUT,
            check_idle_after: Duration::from_millis(250),
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(1800),
            pooler: Pooler::Direct,
        }
    }
}

/// The variables [`PoolConfig::from_env`] reads.
pub const POOL_ENV_VARS: &[&str] = &[
    "ORMKIT_POOL_MAX",
    "ORMKIT_POOL_MIN",
    "ORMKIT_POOL_ACQUIRE_TIMEOUT_MS",
    "ORMKIT_POOL_CHECK_IDLE_AFTER_MS",
    "ORMKIT_POOL_IDLE_TIMEOUT_MS",
    "ORMKIT_POOL_MAX_LIFETIME_MS",
    "ORMKIT_POOLER",
    crate::connect::CONNECT_TIMEOUT_ENV,
];

impl PoolConfig {
    /// The defaults, overridden by `ORMKIT_POOL_*` variables; a variable that is not a number
    /// is an error naming it.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut config = PoolConfig::default();
        let number = |name: &str| -> Result<Option<u64>> {
            match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| OrmkitError::Config {
                        variable: name.to_owned(),
                        message: format!("{v:?} is not a whole number"),
                    }),
            }
        };
        let ms = Duration::from_millis;
        if let Some(v) = number("ORMKIT_POOL_MAX")? {
            config.max_connections = u32::try_from(v).unwrap_or(u32::MAX).max(1);
        }
        if let Some(v) = number("ORMKIT_POOL_MIN")? {
            config.min_connections = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = number("ORMKIT_POOL_ACQUIRE_TIMEOUT_MS")? {
            config.acquire_timeout = ms(v);
        }
        if let Some(v) = number("ORMKIT_POOL_CHECK_IDLE_AFTER_MS")? {
            config.check_idle_after = ms(v);
        }
        if let Some(v) = number("ORMKIT_POOL_IDLE_TIMEOUT_MS")? {
            config.idle_timeout = ms(v);
        }
        if let Some(v) = number("ORMKIT_POOL_MAX_LIFETIME_MS")? {
            config.max_lifetime = ms(v);
        }
        config.connect_timeout = crate::connect::connect_timeout_from_lookup(&lookup)?;
        if let Some(v) = lookup("ORMKIT_POOLER").filter(|v| !v.trim().is_empty()) {
            config.pooler = v.parse().map_err(|message| OrmkitError::Config {
                variable: "ORMKIT_POOLER".into(),
                message,
            })?;
        }
        config.min_connections = config.min_connections.min(config.max_connections);
        Ok(config)
    }

    /// sqlx pool options for this configuration. A pool built from them checks connections
    /// that idled past `check_idle_after`; only [`create_smart_pool_with`] also checks those
    /// released before a connection failure on the pool.
    pub fn pool_options(&self) -> PgPoolOptions {
        self.options_with(Arc::default())
    }

    fn options_with(&self, health: Arc<PoolHealth>) -> PgPoolOptions {
        let check_after = self.check_idle_after;
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(Some(self.idle_timeout))
            .max_lifetime(Some(self.max_lifetime))
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                let health = Arc::clone(&health);
                Box::pin(async move {
                    // Idle a while, or released before a connection somewhere failed (a
                    // restart or failover kills every connection of the server at once).
                    if meta.idle_for >= check_after
                        || health.released_before_last_failure(meta.idle_for)
                    {
                        // A failed ping discards the connection; the pool opens another.
                        return Ok(conn.ping().await.is_ok());
                    }
                    Ok(true)
                })
            })
    }
}

/// A pool on `url` with [`PoolConfig::from_env`]: max 50, min 10, 30 s acquire timeout, 5 s
/// connect timeout, no ping on every acquire.
///
/// # Errors
///
/// [`OrmkitError::Connect`] within the connect timeout when the server cannot be reached or
/// refuses the connection (refused, unresolvable, timed out, TLS, certificate, password,
/// missing database): it names `host:port` (or the socket) and the cause, never the password.
///
/// It is a plain sqlx `PgPool`, and raw sqlx works on it as on any. ormkit's statements on it
/// (repositories, selects, checked queries) also skip sqlx's check on release, a `Sync` round
/// trip per statement: a connection whose statement ended cleanly stays checked out, parked
/// for ormkit's next statement. Parked connections count in `max_connections`; they go back to
/// sqlx when they idle past `check_idle_after`, when the pool has no other connection to give
/// (a raw `acquire` may wait for them: at most a few milliseconds more), when the pool closes,
/// and every 10 s in any case. A connection whose statement failed or was cancelled is never
/// parked: sqlx's release checks it. [`crate::metrics::pool_stats`] counts parked connections
/// as idle.
pub async fn create_smart_pool(url: &str) -> Result<PgPool> {
    create_smart_pool_with(url, &PoolConfig::from_env()?).await
}

/// A pool on `url` with `config`.
///
/// Behind a transaction-mode pooler ([`Pooler::Transaction`]) one connection first checks
/// whether the pooler keeps track of prepared statements itself (PgBouncer ≥ 1.21 with
/// `max_prepared_statements`: it prepares a statement under a name of its own, `PGBOUNCER_…`).
/// If it does, statements run as usual; if not, sqlx's statement cache is turned off and every
/// statement runs pinned in a transaction of its own (see [`Pooler::Transaction`]).
pub async fn create_smart_pool_with(url: &str, config: &PoolConfig) -> Result<PgPool> {
    let mut options = crate::tls::connect_options(url)?;
    if config.pooler != Pooler::Direct {
        // PgBouncer refuses sqlx's `extra_float_digits` startup parameter.
        options = options.extra_float_digits(None);
    }
    // One connection first, under the connect timeout: the pool's own first connections
    // would retry a refused port until the acquire timeout, then say only that it passed.
    crate::connect::probe(&options, config.connect_timeout).await?;
    let sessions = match config.pooler {
        Pooler::Direct | Pooler::Session => Sessions::Own,
        Pooler::Transaction => {
            let sessions = crate::pool::pooler::detect(&options).await?;
            if sessions == Sessions::SharedPinned {
                options = options.statement_cache_capacity(0);
            }
            sessions
        }
    };
    let health = Arc::new(PoolHealth::default());
    let pool = config
        .options_with(Arc::clone(&health))
        .connect_with(options.clone())
        .await
        .map_err(|err| match err {
            sqlx::Error::PoolTimedOut => OrmkitError::Connect {
                target: Box::new(crate::connect::ConnectTarget::of(&options)),
                cause: crate::connect::ConnectCause::TimedOut {
                    after: config.acquire_timeout,
                },
                source: Some(err),
            },
            other => crate::connect::connect_error(other, &options),
        })?;
    crate::connect::register(&pool, config.connect_timeout);
    if sessions != Sessions::SharedPinned {
        crate::pool::lane::register(&pool, Arc::clone(&health), config.check_idle_after);
    }
    crate::pool::health::register(&pool, health);
    crate::pool::pooler::register(&pool, sessions);
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults_and_rejects_garbage() {
        let config = PoolConfig::from_lookup(|name| match name {
            "ORMKIT_POOL_MAX" => Some("8".into()),
            "ORMKIT_POOL_MIN" => Some("20".into()),
            "ORMKIT_POOL_ACQUIRE_TIMEOUT_MS" => Some("250".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.max_connections, 8);
        assert_eq!(config.min_connections, 8, "min is capped at max");
        assert_eq!(config.acquire_timeout, Duration::from_millis(250));
        assert_eq!(
            config.check_idle_after,
            PoolConfig::default().check_idle_after
        );
        let err =
            PoolConfig::from_lookup(|name| (name == "ORMKIT_POOL_MAX").then(|| "lots".into()))
                .unwrap_err();
        assert!(err.to_string().contains("ORMKIT_POOL_MAX"), "{err}");
        assert!(
            matches!(&err, OrmkitError::Config { variable, .. } if variable == "ORMKIT_POOL_MAX"),
            "{err:?}"
        );
        assert_eq!(err.category(), crate::ErrorCategory::Config);
        assert_eq!(
            PoolConfig::default().connect_timeout,
            Duration::from_secs(5),
            "documented default"
        );
        let quick = PoolConfig::from_lookup(|name| {
            (name == "ORMKIT_CONNECT_TIMEOUT_MS").then(|| "1500".into())
        })
        .unwrap();
        assert_eq!(quick.connect_timeout, Duration::from_millis(1500));
        let err = PoolConfig::from_lookup(|name| {
            (name == "ORMKIT_CONNECT_TIMEOUT_MS").then(|| "soon".into())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("ORMKIT_CONNECT_TIMEOUT_MS"),
            "{err}"
        );
        let pooled =
            PoolConfig::from_lookup(|name| (name == "ORMKIT_POOLER").then(|| "transaction".into()))
                .unwrap();
        assert_eq!(pooled.pooler, Pooler::Transaction);
        let err = PoolConfig::from_lookup(|name| (name == "ORMKIT_POOLER").then(|| "pgb".into()))
            .unwrap_err();
        assert!(err.to_string().contains("ORMKIT_POOLER"), "{err}");
    }
}
