//! A uniquely named temporary database on an existing PostgreSQL server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use crate::error::{Error, Result, SERVER_HINT};
use crate::runtime::{block_on, connect};
use crate::urls::{connect_options, redact, with_database};

/// PostgreSQL's SQLSTATE for a syntax error (`DROP DATABASE … WITH (FORCE)` before 13).
const SYNTAX_ERROR: &str = "42601";
/// PostgreSQL's SQLSTATE for connecting to a database that does not exist.
const NO_SUCH_DATABASE: &str = "3D000";
/// Where `CREATE DATABASE` is issued from when the URL's own database does not exist (yet):
/// the server's maintenance databases.
const MAINTENANCE_DATABASES: [&str; 2] = ["postgres", "template1"];

/// A temporary database, dropped (forcibly) when this is dropped.
///
/// The database the server URL names is only connected to, to issue
/// `CREATE DATABASE` / `DROP DATABASE`; nothing is created in it. When it does not exist
/// (a `DATABASE_URL` naming the application's database before its first migration), the
/// server's maintenance database (`postgres`, else `template1`) is used instead.
pub(crate) struct ServerDatabase {
    admin: PgConnectOptions,
    name: String,
    server: String,
    url: String,
    /// Whether the database may exist and still has to be dropped.
    live: bool,
}

impl ServerDatabase {
    /// Creates `ormkit_scratch_<pid>_<nanos>_<counter>` from `template0` on the
    /// server `url` points to.
    pub(crate) fn create(url: &str) -> Result<Self> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::InvalidUrl {
                url: redact(url),
                reason: "expected a postgres:// or postgresql:// url".into(),
            });
        }
        let admin = connect_options(url).map_err(|err| Error::InvalidUrl {
            url: redact(url),
            reason: err.to_string(),
        })?;
        let name = unique_name();
        let mut database = ServerDatabase {
            url: with_database(url, &name)?,
            server: server_label(&admin),
            admin,
            name,
            live: false,
        };
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE template0",
            quote_ident(&database.name)
        );
        let admin = &database.admin;
        let (used, result) = block_on(move || async move {
            let (mut conn, used) = match connect_admin(admin).await {
                Ok(connected) => connected,
                Err(err) => return (None, Err(err)),
            };
            let result = sqlx::raw_sql(&sql).execute(&mut conn).await;
            let _ = conn.close().await;
            (Some(used), result.map(drop))
        })?;
        let sent = used.is_some();
        if let Some(used) = used {
            // DROP DATABASE is issued from wherever CREATE DATABASE was.
            database.admin = used;
        }
        // If the outcome of a sent CREATE is unknown (e.g. the connection broke),
        // the database may exist: let drop() remove it.
        database.live = sent && !matches!(result, Err(sqlx::Error::Database(_)));
        result.map_err(|error| Error::Database {
            action: format!("create temporary database {}", database.name),
            server: database.server.clone(),
            error,
            hint: SERVER_HINT,
        })?;
        Ok(database)
    }

    /// The URL of the temporary database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The server, e.g. `127.0.0.1:5432` or `/var/run/postgresql:5432`.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// Drops the database (terminating its sessions); idempotent.
    pub(crate) fn drop_database(&mut self) -> Result<()> {
        if !self.live {
            return Ok(());
        }
        let name = quote_ident(&self.name);
        let admin = &self.admin;
        let raw_name = self.name.as_str();
        let result = block_on(move || async move {
            let mut conn = connect(admin).await?;
            let forced = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let result = match sqlx::raw_sql(&forced).execute(&mut conn).await {
                Err(sqlx::Error::Database(err)) if err.code().as_deref() == Some(SYNTAX_ERROR) => {
                    // PostgreSQL < 13: end the sessions by hand, then drop.
                    sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    )
                    .bind(raw_name)
                    .execute(&mut conn)
                    .await?;
                    let plain = format!("DROP DATABASE IF EXISTS {name}");
                    sqlx::raw_sql(&plain).execute(&mut conn).await
                }
                other => other,
            };
            let _ = conn.close().await;
            result.map(drop)
        })?;
        result.map_err(|error| Error::Database {
            action: format!("drop temporary database {}", self.name),
            server: self.server.clone(),
            error,
            hint: SERVER_HINT,
        })?;
        self.live = false;
        Ok(())
    }
}

impl Drop for ServerDatabase {
    fn drop(&mut self) {
        let _ = self.drop_database();
    }
}

/// Connects to `admin`'s database, or, when the server says it does not exist, to the first
/// maintenance database that does; returns the connection and the options that worked.
async fn connect_admin(
    admin: &PgConnectOptions,
) -> Result<(PgConnection, PgConnectOptions), sqlx::Error> {
    let first = match connect(admin).await {
        Ok(conn) => return Ok((conn, admin.clone())),
        Err(err) if is_missing_database(&err) => err,
        Err(err) => return Err(err),
    };
    for name in MAINTENANCE_DATABASES {
        if admin.get_database() == Some(name) {
            continue;
        }
        let options = admin.clone().database(name);
        match connect(&options).await {
            Ok(conn) => return Ok((conn, options)),
            Err(err) if is_missing_database(&err) => continue,
            Err(err) => return Err(err),
        }
    }
    Err(first)
}

fn is_missing_database(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some(NO_SUCH_DATABASE))
}

/// `ormkit_scratch_<pid>_<nanos>_<counter>`: unique across processes and calls.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("ormkit_scratch_{}_{nanos}_{counter}", std::process::id())
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn server_label(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => format!("{}:{}", socket.display(), options.get_port()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_identifiers() {
        let (a, b) = (unique_name(), unique_name());
        assert_ne!(a, b);
        assert!(a.len() < 64, "{a} exceeds NAMEDATALEN");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }
}
