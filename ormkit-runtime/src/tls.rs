//! Connect options from a URL, as libpq would read it: sqlx's parser (the URL, then the
//! `PG*` variables: `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, …), with the one
//! `sslmode` sqlx 0.8 leaves out filled in.

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use std::str::FromStr as _;

/// Parses a `postgres://` URL into connect options, as every connection ormkit makes does
/// (pools, the Migrator, the cache's listener, `#[ormkit::test]`, the CLI).
///
/// TLS settings come from the URL (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) or, where
/// the URL has none, from `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT` and `PGSSLKEY`.
///
/// `sslmode=allow` connects over TLS when the server offers it and in plain text otherwise
/// (sqlx 0.8 would never try TLS, so a server that requires it refused the connection);
/// libpq tries plain text first, so against a server that accepts both it would not encrypt.
/// Neither mode checks the server's certificate: use `verify-full`.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    PgConnectOptions::from_str(url).map(allow_tries_tls)
}

/// `sslmode=allow` as `prefer`: TLS if the server offers it, else plain text.
pub(crate) fn allow_tries_tls(options: PgConnectOptions) -> PgConnectOptions {
    match options.get_ssl_mode() {
        PgSslMode::Allow => options.ssl_mode(PgSslMode::Prefer),
        _ => options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_becomes_prefer_and_the_rest_is_kept() {
        let options = connect_options("postgres://u@h/db?sslmode=allow").unwrap();
        assert!(matches!(options.get_ssl_mode(), PgSslMode::Prefer));
        for (mode, expected) in [
            ("disable", PgSslMode::Disable),
            ("require", PgSslMode::Require),
            ("verify-ca", PgSslMode::VerifyCa),
            ("verify-full", PgSslMode::VerifyFull),
        ] {
            let options = connect_options(&format!("postgres://u@h/db?sslmode={mode}")).unwrap();
            assert_eq!(
                std::mem::discriminant(&options.get_ssl_mode()),
                std::mem::discriminant(&expected),
                "{mode}"
            );
        }
    }
}
