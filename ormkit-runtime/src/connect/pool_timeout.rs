//! Explaining a pool's acquire timeout: sqlx says only that the pool timed out, which is
//! true both of a pool whose connections all stayed in use and of one that could not open
//! any. One connection attempt tells which.

use super::{
    connect_timeout_from_env, probe, ConnectCause, ConnectTarget, DEFAULT_CONNECT_TIMEOUT,
};
use crate::error::OrmkitError;
use crate::pool::registry::PoolRegistry;
use sqlx::PgPool;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What ormkit keeps per pool to explain its acquire timeouts.
struct PoolConnectFacts {
    /// The connect timeout of the pool's [`PoolConfig`](crate::PoolConfig).
    timeout: Duration,
    /// The last probe's verdict (`None`: the server let us in), and when: the waiters that
    /// time out together share one probe.
    last: tokio::sync::Mutex<Option<(Instant, Option<ConnectCause>)>>,
}

static POOLS: PoolRegistry<PoolConnectFacts> = PoolRegistry::new();

/// How long one probe's verdict answers for a pool's later timeouts.
const VERDICT_LASTS: Duration = Duration::from_secs(1);

/// The connect timeout for new connections of `pool`'s server: the one its
/// [`PoolConfig`](crate::PoolConfig) gave, else `ORMKIT_CONNECT_TIMEOUT_MS`'s, else
/// [`DEFAULT_CONNECT_TIMEOUT`].
#[cfg_attr(not(feature = "cache"), allow(dead_code))]
pub(crate) fn timeout_of(pool: &PgPool) -> Duration {
    POOLS
        .get(pool)
        .map_or_else(env_timeout, |facts| facts.timeout)
}

/// `ORMKIT_CONNECT_TIMEOUT_MS`'s timeout (read once), else [`DEFAULT_CONNECT_TIMEOUT`].
fn env_timeout() -> Duration {
    static FROM_ENV: OnceLock<Duration> = OnceLock::new();
    *FROM_ENV.get_or_init(|| connect_timeout_from_env().unwrap_or(DEFAULT_CONNECT_TIMEOUT))
}

/// Records `pool`'s connect timeout, for [`pool_timed_out`].
#[cfg(feature = "smart-pool")]
pub(crate) fn register(pool: &PgPool, timeout: Duration) {
    POOLS.insert(
        pool,
        Arc::new(PoolConnectFacts {
            timeout,
            last: tokio::sync::Mutex::new(None),
        }),
    );
}

/// `err` from taking a connection of `pool` (an acquire, or an acquire and `BEGIN`), with a
/// pool timeout explained as [`pool_timed_out`] does.
async fn acquire_error(pool: &PgPool, err: sqlx::Error) -> OrmkitError {
    match err {
        sqlx::Error::PoolTimedOut => {
            pool_timed_out(pool, pool.options().get_acquire_timeout()).await
        }
        other => other.into(),
    }
}

/// Waits for `acquiring` (an acquire on `pool`, or an acquire and `BEGIN`, pinned by the
/// caller). sqlx's pool retries a refused port until its acquire timeout (30 s by default);
/// so once the wait has lasted the connect timeout, the server is checked (one probe per
/// pool per second, shared by every waiter): if it cannot be reached, or refuses us, the
/// caller gets that [`OrmkitError::Connect`] at once. A server that lets us in, or is only
/// full (too many connections), leaves the caller waiting for the pool, whose timeout is
/// then explained. The slow paths are boxed: this sits in every statement's future.
pub(crate) async fn acquire_explained<T, F>(
    pool: &PgPool,
    mut acquiring: Pin<&mut F>,
) -> Result<T, OrmkitError>
where
    F: Future<Output = Result<T, sqlx::Error>>,
{
    match tokio::time::timeout(timeout_of(pool), acquiring.as_mut()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(err)) => Err(Box::pin(acquire_error(pool, err)).await),
        Err(_) => Box::pin(wait_or_fail(pool, acquiring)).await,
    }
}

/// The rest of [`acquire_explained`]'s wait, past the connect timeout.
async fn wait_or_fail<T, F>(pool: &PgPool, acquiring: Pin<&mut F>) -> Result<T, OrmkitError>
where
    F: Future<Output = Result<T, sqlx::Error>>,
{
    let unreachable = async {
        loop {
            match verdict(pool).await {
                Some(cause) if !matches!(cause, ConnectCause::Rejected { .. }) => return cause,
                _ => tokio::time::sleep(VERDICT_LASTS).await,
            }
        }
    };
    let result = tokio::select! {
        biased;
        result = acquiring => result,
        cause = unreachable => {
            return Err(OrmkitError::Connect {
                target: Box::new(ConnectTarget::of(&pool.connect_options())),
                cause,
                source: None,
            });
        }
    };
    match result {
        Ok(conn) => Ok(conn),
        Err(err) => Err(acquire_error(pool, err).await),
    }
}

/// Whether `pool`'s server can be reached and lets us in (`None`), or why not: one
/// connection attempt under the pool's connect timeout, whose verdict answers every caller
/// for a second.
async fn verdict(pool: &PgPool) -> Option<ConnectCause> {
    let facts = POOLS.get(pool).unwrap_or_else(|| {
        let facts = Arc::new(PoolConnectFacts {
            timeout: env_timeout(),
            last: tokio::sync::Mutex::new(None),
        });
        POOLS.insert(pool, Arc::clone(&facts));
        facts
    });
    let mut last = facts.last.lock().await;
    match &*last {
        Some((at, verdict)) if at.elapsed() < VERDICT_LASTS => verdict.clone(),
        _ => {
            // Boxed: a connect future is large, and this one sits in every statement's
            // future (through the acquire) although it rarely runs.
            let options = pool.connect_options();
            let verdict = match Box::pin(probe(&options, facts.timeout)).await {
                Err(OrmkitError::Connect { cause, .. }) => Some(cause),
                Ok(()) | Err(_) => None,
            };
            *last = Some((Instant::now(), verdict.clone()));
            verdict
        }
    }
}

/// The error for an acquire on `pool` that found no connection within `waited`: sqlx says
/// only that the pool timed out, which is true both of a pool whose connections all stayed
/// in use and of one that could not open any. One connection attempt (under the pool's
/// connect timeout, shared by the callers that time out within a second) tells which:
/// [`OrmkitError::Connect`] with the cause, or [`OrmkitError::PoolExhausted`].
pub(crate) async fn pool_timed_out(pool: &PgPool, waited: Duration) -> OrmkitError {
    match verdict(pool).await {
        Some(cause) => OrmkitError::Connect {
            target: Box::new(ConnectTarget::of(&pool.connect_options())),
            cause,
            source: None,
        },
        None => {
            let idle = u32::try_from(pool.num_idle() + crate::pool::lane::parked(pool))
                .unwrap_or(u32::MAX);
            OrmkitError::PoolExhausted {
                max_connections: pool.options().get_max_connections(),
                in_use: pool.size().saturating_sub(idle),
                waited,
            }
        }
    }
}
