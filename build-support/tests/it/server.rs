//! Temporary databases on the shared PostgreSQL server.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ormkit_build_support::{ScratchDatabase, ScratchKind, ScratchPlan};
use sqlx::{Connection, Executor, PgConnection};

use crate::support::{database_exists, query_text, server_url};

#[tokio::test]
async fn temporary_database_is_usable_and_dropped_on_close() {
    let url = server_url();
    let objects_before = query_text(&url, "SELECT count(*)::text FROM pg_class").await;

    let db = ScratchDatabase::on_server(&url).expect("create temporary database");
    assert_eq!(db.kind(), ScratchKind::Server);
    let name = query_text(db.url(), "SELECT current_database()::text").await;
    assert!(name.starts_with("ormkit_scratch_"), "{name}");
    assert!(db.description().contains(&name), "{}", db.description());
    assert!(database_exists(&url, &name).await);

    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    conn.execute("CREATE TABLE widget (id int PRIMARY KEY, label text)")
        .await
        .unwrap();
    conn.execute("INSERT INTO widget VALUES (1, 'one')")
        .await
        .unwrap();
    let label: String = sqlx::query_scalar("SELECT label FROM widget")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(label, "one");
    conn.close().await.unwrap();

    db.close().expect("drop temporary database");
    assert!(!database_exists(&url, &name).await, "{name} still exists");

    let objects_after = query_text(&url, "SELECT count(*)::text FROM pg_class").await;
    assert_eq!(
        objects_before, objects_after,
        "the url's own database was modified"
    );
}

#[tokio::test]
async fn drop_removes_the_database_despite_open_connections() {
    let url = server_url();
    let db = ScratchDatabase::start(&ScratchPlan::Server { url: url.clone() })
        .expect("create temporary database")
        .expect("a server plan is not offline");
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();

    drop(db);
    assert!(!database_exists(&url, &name).await, "{name} still exists");
    // The open session was terminated by DROP DATABASE … WITH (FORCE).
    assert!(sqlx::query("SELECT 1").execute(&mut conn).await.is_err());
}

#[tokio::test]
async fn panic_while_in_use_still_drops_the_database() {
    let url = server_url();
    let mut name = None;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let db = ScratchDatabase::on_server(&url).expect("create temporary database");
        name = db
            .description()
            .split_whitespace()
            .nth(2)
            .map(str::to_owned);
        panic!("migration failed");
    }));
    assert!(outcome.is_err());
    let name = name.expect("database name");
    assert!(!database_exists(&url, &name).await, "{name} still exists");
}

#[tokio::test]
async fn each_database_gets_a_unique_name() {
    let url = server_url();
    let (a, b) = (
        ScratchDatabase::on_server(&url).unwrap(),
        ScratchDatabase::on_server(&url).unwrap(),
    );
    assert_ne!(a.url(), b.url());
}

#[test]
fn works_outside_any_runtime_too() {
    let db = ScratchDatabase::on_server(&server_url()).expect("create temporary database");
    assert!(db.url().contains("ormkit_scratch_"));
    db.close().expect("drop temporary database");
}

#[test]
fn query_parameters_are_kept_and_dbname_replaced() {
    let base = server_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}application_name=ormkit-test&dbname=postgres");
    let db = ScratchDatabase::on_server(&url).expect("create temporary database");
    assert!(
        db.url().contains("application_name=ormkit-test"),
        "{}",
        db.url()
    );
    assert!(db.url().contains("dbname=ormkit_scratch_"), "{}", db.url());
    db.close().expect("drop temporary database");
}

/// A `DATABASE_URL` naming the application's database before it exists (a fresh checkout,
/// `cargo build` before the first `migrate up`): the scratch database is made through the
/// server's maintenance database, and the named one is still not created.
#[tokio::test]
async fn a_url_naming_a_database_that_does_not_exist_yet_still_works() {
    let url = server_url();
    let missing = format!("ormkit_not_created_{}", std::process::id());
    let mut parsed = url::Url::parse(&url).expect("server url");
    parsed.set_path(&format!("/{missing}"));
    let db = ScratchDatabase::on_server(parsed.as_str())
        .expect("a scratch database despite the missing database in the url");
    let name = query_text(db.url(), "SELECT current_database()::text").await;
    assert!(name.starts_with("ormkit_scratch_"), "{name}");
    db.close().expect("drop temporary database");
    assert!(!database_exists(&url, &name).await, "{name} still exists");
    assert!(
        !database_exists(&url, &missing).await,
        "the url's own database was created"
    );
}
