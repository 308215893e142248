//! Rewriting and redacting PostgreSQL connection URLs.

use std::path::Path;
use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use url::Url;

use crate::error::{Error, Result};

/// Parses a `postgres://` URL into connect options as sqlx does (the URL, then the `PG*`
/// variables, `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT` and `PGSSLKEY` included), except that
/// `sslmode=allow` tries TLS when the server offers it, as `prefer` (sqlx 0.8 never tries it
/// under `allow`, so a server requiring TLS refused the connection). The same rule as
/// `ormkit::connect_options`, for the build-time connections.
pub fn connect_options(url: &str) -> std::result::Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    Ok(match options.get_ssl_mode() {
        PgSslMode::Allow => options.ssl_mode(PgSslMode::Prefer),
        _ => options,
    })
}

/// The URL with any password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Fails only for URLs that cannot have a password, which have none.
                let _ = parsed.set_password(Some("***"));
            }
            let has_password_param = parsed.query_pairs().any(|(key, _)| key == "password");
            if has_password_param {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(key, value)| {
                        let value = if key == "password" {
                            "***".into()
                        } else {
                            value
                        };
                        (key.into_owned(), value.into_owned())
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.into()
        }
        Err(_) => "<unparseable url>".to_owned(),
    }
}

/// The same URL, pointing at database `name` instead (both the path and any
/// `dbname=` query parameter are replaced; everything else is kept).
pub(crate) fn with_database(url: &str, name: &str) -> Result<String> {
    let mut parsed = Url::parse(url).map_err(|err| Error::InvalidUrl {
        url: redact(url),
        reason: err.to_string(),
    })?;
    if parsed.cannot_be_a_base() {
        return Err(Error::InvalidUrl {
            url: redact(url),
            reason: "expected a url of the form postgres://user@host:port/database".into(),
        });
    }
    parsed.set_path(&format!("/{name}"));
    let has_dbname_param = parsed.query_pairs().any(|(key, _)| key == "dbname");
    if has_dbname_param {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "dbname" { name.into() } else { value };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok(parsed.into())
}

/// `postgres://postgres@localhost:5432/postgres?host=<socket_dir>`: the URL of
/// the `postgres` database of a cluster listening only on a Unix socket.
///
/// The port is explicit because it names the socket file (`.s.PGSQL.5432`)
/// and must not be taken from `PGPORT`.
pub(crate) fn socket_url(socket_dir: &Path) -> String {
    const BASE: &str = "postgres://postgres@localhost:5432/postgres";
    let dir = socket_dir.to_string_lossy();
    let plain = dir
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
    if plain {
        format!("{BASE}?host={dir}")
    } else {
        let mut url = Url::parse(BASE).expect("constant url parses");
        url.query_pairs_mut().append_pair("host", &dir);
        url.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_path_and_dbname() {
        assert_eq!(
            with_database("postgres://u:p@h:1/app?sslmode=disable", "tmp").unwrap(),
            "postgres://u:p@h:1/tmp?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h?dbname=app&user=u", "tmp").unwrap(),
            "postgres://h/tmp?dbname=tmp&user=u"
        );
        assert_eq!(
            with_database("postgres:///app?host=/var/run/postgresql", "tmp").unwrap(),
            "postgres:///tmp?host=/var/run/postgresql"
        );
        assert!(with_database("not a url", "tmp").is_err());
        // TLS settings survive the rewrite (a scratch database on a server that needs TLS).
        assert_eq!(
            with_database(
                "postgres://u@h/app?sslmode=verify-full&sslrootcert=/ca.crt&sslcert=/c.crt&sslkey=/c.key",
                "tmp"
            )
            .unwrap(),
            "postgres://u@h/tmp?sslmode=verify-full&sslrootcert=/ca.crt&sslcert=/c.crt&sslkey=/c.key"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("postgres://h/db?password=secret&a=b"),
            "postgres://h/db?password=***&a=b"
        );
    }

    #[test]
    fn socket_urls() {
        assert_eq!(
            socket_url(Path::new("/tmp/ormkit-sock-ab1")),
            "postgres://postgres@localhost:5432/postgres?host=/tmp/ormkit-sock-ab1"
        );
        assert_eq!(
            socket_url(Path::new("/tmp/a b")),
            "postgres://postgres@localhost:5432/postgres?host=%2Ftmp%2Fa+b"
        );
    }
}
