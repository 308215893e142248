//! Shared helpers: temporary migration directories and throw-away databases.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

/// Writes `contents` to `dir/relative`, creating parent directories.
pub(crate) fn write(dir: &Path, relative: &str, contents: impl AsRef<[u8]>) {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent directory");
    }
    std::fs::write(&path, contents).expect("write file");
}

/// A fresh temporary directory.
pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create temporary directory")
}

/// A database created for one test; call [`TestDb::drop`] at the end.
pub(crate) struct TestDb {
    admin: PgConnectOptions,
    name: String,
    pub(crate) conn: PgConnection,
}

impl TestDb {
    /// Creates a uniquely named database and connects to it.
    pub(crate) async fn create() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let admin = PgConnectOptions::from_str(&url).expect("valid DATABASE_URL");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let name = format!(
            "ormkit_migrations_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = admin.connect().await.expect("connect to PostgreSQL");
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.expect("close admin connection");
        let conn = admin
            .clone()
            .database(&name)
            .connect()
            .await
            .expect("connect to test database");
        TestDb { admin, name, conn }
    }

    /// Whether `relation` (a table or index name) exists in the test database.
    pub(crate) async fn relation_exists(&mut self, relation: &str) -> bool {
        sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
            .bind(relation)
            .fetch_one(&mut self.conn)
            .await
            .expect("query catalog")
    }

    /// Closes the connection and drops the database.
    pub(crate) async fn drop(self) {
        self.conn.close().await.expect("close test connection");
        let mut conn = self.admin.connect().await.expect("connect to PostgreSQL");
        sqlx::raw_sql(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name))
            .execute(&mut conn)
            .await
            .expect("drop test database");
        conn.close().await.expect("close admin connection");
    }
}
