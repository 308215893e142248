//! The server `#[ormkit::test]` databases live on: `DATABASE_URL`'s, or a throwaway cluster
//! of this test binary's own, started once and removed when the process exits.

use std::sync::OnceLock;

use ormkit_build_support::ScratchDatabase;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection};

/// Where the test databases are created.
#[derive(Debug)]
pub(crate) struct Server {
    /// Options of the database `CREATE DATABASE` is issued from.
    pub(crate) admin: PgConnectOptions,
    /// For messages: `127.0.0.1:5432` or `the throwaway cluster in …`.
    pub(crate) description: String,
    /// Whether it is this process's throwaway cluster (gone when the process exits).
    pub(crate) throwaway: bool,
}

/// The server for this process, decided once.
pub(crate) fn server() -> Result<&'static Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER.get_or_init(decide).as_ref().map_err(Clone::clone)
}

fn decide() -> Result<Server, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let admin = crate::tls::connect_options(&url)
            .map_err(|err| format!("DATABASE_URL is not a PostgreSQL URL: {err}"))?;
        let description = format!(
            "the server of DATABASE_URL ({}:{})",
            admin.get_host(),
            admin.get_port()
        );
        return Ok(Server {
            admin: admin.log_statements(tracing::log::LevelFilter::Off),
            description,
            throwaway: false,
        });
    }
    let bindir = ormkit_build_support::find_bindir(|var| std::env::var(var).ok()).ok_or(
        "ormkit::test needs PostgreSQL: set DATABASE_URL to a server, or install PostgreSQL's \
         server binaries (initdb, postgres; e.g. Debian's postgresql-15) for a throwaway cluster",
    )?;
    let mut cluster = ScratchDatabase::local_cluster(&bindir, None)
        .map_err(|err| format!("could not start a throwaway PostgreSQL cluster: {err}"))?;
    cluster
        .remove_when_process_exits()
        .map_err(|err| err.to_string())?;
    let cluster: &'static ScratchDatabase = Box::leak(Box::new(cluster));
    let admin: PgConnectOptions = cluster
        .url()
        .parse()
        .map_err(|err| format!("the throwaway cluster's URL: {err}"))?;
    Ok(Server {
        admin: admin.log_statements(tracing::log::LevelFilter::Off),
        description: cluster.description(),
        throwaway: true,
    })
}

impl Server {
    /// A connection to the database `CREATE DATABASE` is issued from: the URL's own, or the
    /// server's `postgres` database when that one does not exist yet.
    pub(crate) async fn admin(&self) -> Result<PgConnection, String> {
        match PgConnection::connect_with(&self.admin).await {
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("3D000") => {
                PgConnection::connect_with(&self.admin.clone().database("postgres")).await
            }
            other => other,
        }
        .map_err(|err| format!("cannot connect to {}: {err}", self.description))
    }

    /// Options for database `name` on this server.
    pub(crate) fn database(&self, name: &str) -> PgConnectOptions {
        self.admin.clone().database(name)
    }
}

/// PostgreSQL's SQLSTATE for a syntax error: `DROP DATABASE … WITH (FORCE)` before 13.
const SYNTAX_ERROR: &str = "42601";

/// `DROP DATABASE IF EXISTS name WITH (FORCE)`; on PostgreSQL 12, which has no `FORCE`,
/// its sessions are terminated by hand and the database dropped then.
pub(crate) async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), String> {
    let quoted = ormkit_schema::quote_ident(name);
    let forced = format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)");
    let result = match sqlx::Executor::execute(&mut *admin, &*forced).await {
        Err(sqlx::Error::Database(err)) if err.code().as_deref() == Some(SYNTAX_ERROR) => {
            let terminated = sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(name)
            .execute(&mut *admin)
            .await;
            match terminated {
                Ok(_) => {
                    let plain = format!("DROP DATABASE IF EXISTS {quoted}");
                    sqlx::Executor::execute(&mut *admin, &*plain).await
                }
                Err(err) => Err(err),
            }
        }
        other => other,
    };
    result
        .map(drop)
        .map_err(|err| format!("dropping {name}: {err}"))
}

/// Closes `conn` politely (errors do not matter: the work is done).
pub(crate) async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}
