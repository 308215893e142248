//! Helpers shared by the integration tests.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sqlx::{Connection, PgConnection};

/// The URL of the PostgreSQL server the server tests use.
pub(crate) fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The PostgreSQL binaries the cluster tests use.
pub(crate) fn bindir() -> PathBuf {
    ormkit_build_support::find_bindir(|name| std::env::var(name).ok())
        .expect("the cluster tests need PostgreSQL server binaries (initdb, pg_ctl, postgres)")
}

/// Runs `sql` on `url` and returns the first column of the first row as text.
pub(crate) async fn query_text(url: &str, sql: &str) -> String {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let value: String = sqlx::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    conn.close().await.expect("close");
    value
}

/// Whether the server at `url` has a database called `name`.
pub(crate) async fn database_exists(url: &str, name: &str) -> bool {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .expect("query pg_database");
    conn.close().await.expect("close");
    exists
}

/// A temporary directory that the unprivileged PostgreSQL account can enter
/// (tests run as root here, and PostgreSQL then runs as `postgres`).
pub(crate) fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    dir
}

/// Writes an executable shell script.
pub(crate) fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod script");
}

pub(crate) use crate::orphan::processes_mentioning;
