//! Making one connection under a deadline, and saying why one could not be made: where
//! ([`ConnectTarget`]: `host:port` or the socket path, database, user) and what failed
//! ([`ConnectCause`]: refused, unresolvable, TLS, certificate, password, missing database…),
//! classified from sqlx's error in one place ([`classify`]). Never a password.
//!
//! `cause` holds the classification, `pool_timeout` the explanation of a pool's acquire
//! timeout (exhausted, or the server unreachable and why).

mod cause;
mod pool_timeout;

pub use cause::{classify, CertificateCheck, ConnectCause, ConnectTarget};
pub(crate) use pool_timeout::acquire_explained;
#[cfg(feature = "orm")]
pub(crate) use pool_timeout::pool_timed_out;
#[cfg(feature = "smart-pool")]
pub(crate) use pool_timeout::register;
#[cfg(feature = "cache")]
pub(crate) use pool_timeout::timeout_of;

use crate::error::{OrmkitError, Result};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection as _;
use std::time::Duration;

/// How long one connection attempt may take by default (TCP connect, TLS handshake and
/// authentication): 5 s. [`PoolConfig::connect_timeout`](crate::PoolConfig::connect_timeout)
/// and `ORMKIT_CONNECT_TIMEOUT_MS` change it.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The variable [`connect_timeout_from_env`] reads.
pub const CONNECT_TIMEOUT_ENV: &str = "ORMKIT_CONNECT_TIMEOUT_MS";

/// The connect timeout `ORMKIT_CONNECT_TIMEOUT_MS` asks for, else
/// [`DEFAULT_CONNECT_TIMEOUT`]; a value that is not a whole number (or is 0) is an error
/// naming the variable.
pub fn connect_timeout_from_env() -> Result<Duration> {
    connect_timeout_from_lookup(|name| std::env::var(name).ok())
}

/// Like [`connect_timeout_from_env`], reading the variable through `lookup`.
pub fn connect_timeout_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Duration> {
    match lookup(CONNECT_TIMEOUT_ENV).filter(|v| !v.trim().is_empty()) {
        None => Ok(DEFAULT_CONNECT_TIMEOUT),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(OrmkitError::Config {
                variable: CONNECT_TIMEOUT_ENV.to_owned(),
                message: format!("{v:?} is not a whole number of milliseconds above 0"),
            }),
        },
    }
}

/// The [`OrmkitError::Connect`] for `err`, returned while connecting with `options`.
pub fn connect_error(err: sqlx::Error, options: &PgConnectOptions) -> OrmkitError {
    OrmkitError::Connect {
        target: Box::new(ConnectTarget::of(options)),
        cause: classify(&err, options),
        source: Some(err),
    }
}

/// One connection with `options`, or an [`OrmkitError::Connect`] naming where and why,
/// within `timeout` (the whole attempt: resolving, TCP, TLS, authentication). A connection
/// cut off by the timeout is dropped unopened; nothing is pooled.
pub async fn connect_with_timeout(
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<PgConnection> {
    match tokio::time::timeout(timeout, PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(err)) => Err(connect_error(err, options)),
        Err(_) => Err(OrmkitError::Connect {
            target: Box::new(ConnectTarget::of(options)),
            cause: ConnectCause::TimedOut { after: timeout },
            source: None,
        }),
    }
}

/// Opens and closes one connection with `options` within `timeout`: the check that a
/// server is there and lets us in, before a pool (which would retry a refused port until
/// its acquire timeout and then report only that) is built on it.
pub async fn probe(options: &PgConnectOptions, timeout: Duration) -> Result<()> {
    let conn = connect_with_timeout(options, timeout).await?;
    // A failed goodbye does not make the server less reachable.
    let _closed = tokio::time::timeout(timeout, conn.close()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_variable_is_read_and_checked() {
        let none = connect_timeout_from_lookup(|_| None).unwrap();
        assert_eq!(none, DEFAULT_CONNECT_TIMEOUT);
        assert!(none <= Duration::from_secs(5));
        let set = connect_timeout_from_lookup(|_| Some("750".into())).unwrap();
        assert_eq!(set, Duration::from_millis(750));
        for bad in ["soon", "0", "-1"] {
            let err = connect_timeout_from_lookup(|_| Some(bad.into())).unwrap_err();
            assert!(err.to_string().contains(CONNECT_TIMEOUT_ENV), "{err}");
        }
    }
}
