//! A throwaway PgBouncer (as `postgres` when tests run as root).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ormkit_build_support::{
    reap_stale_clusters, PgBouncer, PgBouncerOptions, PoolMode, ScratchDatabase, ScratchPlan,
};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, Row};

use crate::support::processes_mentioning;

/// Set in the child process of the reaping test.
const ORPHAN_ENV: &str = "ORMKIT_TEST_ORPHAN_PGBOUNCER";

/// A connection through PgBouncer (which refuses the `extra_float_digits` startup
/// parameter sqlx sends by default).
async fn connect(url: &str) -> PgConnection {
    let options: PgConnectOptions = url.parse().expect("url");
    PgConnection::connect_with(&options.extra_float_digits(None))
        .await
        .expect("connect through pgbouncer")
}

/// `SELECT pg_backend_pid()` with the simple protocol (no prepared statement).
async fn backend_pid(conn: &mut PgConnection) -> i32 {
    let row = sqlx::raw_sql("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
        .expect("backend pid");
    row.get(0)
}

#[cfg_attr(
    ormkit_no_pgbouncer,
    ignore = "needs pgbouncer, not found: apt-get install pgbouncer (or set ORMKIT_PGBOUNCER)"
)]
#[tokio::test]
async fn transaction_mode_shares_one_server_connection_between_clients() {
    let db = ScratchDatabase::start(&ScratchPlan::from_env())
        .expect("scratch database")
        .expect("tests need PostgreSQL");
    let options = PgBouncerOptions::default().pool_size(1);
    let bouncer = PgBouncer::start(db.url(), &options).expect("start pgbouncer");
    assert_eq!(bouncer.mode(), PoolMode::Transaction);
    assert!(bouncer.version().is_some(), "{bouncer:?}");
    let config = bouncer.config_file();
    assert!(!processes_mentioning(&config).is_empty(), "pgbouncer runs");

    // Two clients, both connected at once, answered by the one server connection: in
    // session mode the second would wait for the first to disconnect.
    let mut first = connect(bouncer.url()).await;
    let mut second = connect(bouncer.url()).await;
    let (a, b) = (
        backend_pid(&mut first).await,
        backend_pid(&mut second).await,
    );
    assert_eq!(
        a, b,
        "both clients should share the pool's one server connection"
    );
    let database: String = sqlx::raw_sql("SELECT current_database()")
        .fetch_one(&mut first)
        .await
        .unwrap()
        .get(0);
    let upstream = url::Url::parse(db.url()).unwrap();
    assert_eq!(
        database,
        upstream.path().trim_start_matches('/'),
        "the upstream's database"
    );
    drop((first, second));

    bouncer.close().expect("stop pgbouncer");
    assert_eq!(processes_mentioning(&config), Vec::<u32>::new());
    assert!(!config.parent().unwrap().exists(), "{config:?} survived");
}

/// Only active in the child process of the reaping test: starts a PgBouncer (in front of
/// nothing: it connects upstream only when a client does), says where, waits to be killed.
#[test]
fn orphan_pgbouncer_helper() {
    if std::env::var_os(ORPHAN_ENV).is_none() {
        return;
    }
    let bouncer = PgBouncer::start(
        "postgres://postgres@127.0.0.1:1/nothing",
        &PgBouncerOptions::default(),
    )
    .expect("start pgbouncer");
    println!("ORPHAN {}", bouncer.config_file().display());
    std::thread::sleep(std::time::Duration::from_secs(600));
    unreachable!("the parent kills this process");
}

#[cfg_attr(
    ormkit_no_pgbouncer,
    ignore = "needs pgbouncer, not found: apt-get install pgbouncer (or set ORMKIT_PGBOUNCER)"
)]
#[test]
fn pgbouncers_of_killed_processes_are_reaped() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "pgbouncer::orphan_pgbouncer_helper",
            "--nocapture",
        ])
        .env(ORPHAN_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the helper");
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("ORPHAN "))
        .expect("the helper names its pgbouncer");
    child.kill().expect("SIGKILL the helper");
    child.wait().unwrap();
    let config = PathBuf::from(line.trim_start_matches("ORPHAN "));
    assert!(
        !processes_mentioning(&config).is_empty(),
        "the orphaned pgbouncer should still run"
    );
    reap_stale_clusters();
    assert_eq!(
        processes_mentioning(&config),
        Vec::<u32>::new(),
        "pgbouncer survived"
    );
    assert!(
        !config.parent().unwrap().exists(),
        "{config:?} survived the reaper"
    );
}

/// The build script's verdict (the cfg that ignores the tests above) is what a search of
/// this environment finds: the tests run exactly when `pgbouncer` is installed.
#[test]
fn the_build_script_ignores_these_tests_exactly_when_pgbouncer_is_missing() {
    use ormkit_build_support::optional_tools::{PGBOUNCER, SYSTEM_DIRS};
    let found = PGBOUNCER.find_in(&|name| std::env::var(name).ok(), &SYSTEM_DIRS);
    assert_eq!(
        cfg!(ormkit_no_pgbouncer),
        found.is_none(),
        "pgbouncer at {found:?}; rebuild after installing it (`touch build-support/build.rs`)"
    );
}
