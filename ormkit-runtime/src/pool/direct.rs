//! Session-bound features of a pool behind a transaction-mode pooler (see `crate::pool::pooler`):
//! the Migrator's advisory lock and session settings, the entity cache's `LISTEN`
//! connection. Each gets a URL that reaches PostgreSQL directly, or refuses to run.

use crate::pool::pooler::{sessions, Sessions};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

/// The variable naming a URL that reaches PostgreSQL directly, for session-bound features
/// of a pool behind a transaction-mode pooler.
pub const DIRECT_URL_ENV: &str = "ORMKIT_DIRECT_URL";

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
        crate::tls::connect_options(url)
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
    use crate::pool::pooler::register;
    use sqlx::postgres::PgPoolOptions;

    fn refusal() -> SessionRequired {
        SessionRequired {
            feature: "the probe",
            option: "Probe::direct_url",
        }
    }

    #[tokio::test]
    async fn a_pool_behind_a_transaction_pooler_needs_a_direct_url() {
        let lazy = |url: &str| PgPoolOptions::new().connect_lazy(url).unwrap();
        let none = |_: &str| None;
        let env = |name: &str| (name == DIRECT_URL_ENV).then(|| "postgres://u@direct/app".into());

        // Sessions of its own: the pool's options, whatever the environment says.
        let own = lazy("postgres://u@pooled:6432/app");
        let options = session_options_with(&own, None, refusal(), env).unwrap();
        assert_eq!(options.get_host(), "pooled");

        let shared = lazy("postgres://u@bouncer:6432/app");
        register(&shared, Sessions::SharedPinned);
        let err = session_options_with(&shared, None, refusal(), none).unwrap_err();
        assert_eq!(err.origin(), DIRECT_URL_ENV);
        let message = err.to_string();
        for part in [
            "the probe",
            "transaction-mode pooler",
            DIRECT_URL_ENV,
            "Probe::direct_url",
        ] {
            assert!(message.contains(part), "{message}");
        }
        let options = session_options_with(&shared, None, refusal(), env).unwrap();
        assert_eq!(options.get_host(), "direct");
        // The option wins over the environment.
        let explicit = Some("postgres://u@option/app");
        let options = session_options_with(&shared, explicit, refusal(), env).unwrap();
        assert_eq!(options.get_host(), "option");
        let err = session_options_with(
            &shared,
            Some("postgres://u@h:notaport/app"),
            refusal(),
            none,
        )
        .unwrap_err();
        assert_eq!(err.origin(), "Probe::direct_url");
        assert!(err.to_string().contains("invalid"), "{err}");
    }
}
