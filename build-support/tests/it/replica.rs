//! A throwaway primary with streaming replicas (as `postgres` when tests run as root).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ormkit_build_support::{ReplicaOptions, ReplicaSet};
use sqlx::{Connection, PgConnection};

use crate::support::{bindir, processes_mentioning, query_text};

/// Runs `sql` (one or more statements, no parameters) on `url`.
async fn execute(url: &str, sql: &str) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    conn.close().await.expect("close");
}

/// Polls `sql` on `url` until it returns `expected`, for at most 30 s (an error, such as
/// a table not replicated yet, counts as another answer).
async fn wait_for(url: &str, sql: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut conn = PgConnection::connect(url).await.expect("connect");
        let value = match sqlx::query_scalar::<_, String>(sql)
            .fetch_one(&mut conn)
            .await
        {
            Ok(value) => value,
            Err(err) => err.to_string(),
        };
        conn.close().await.expect("close");
        if value == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql} on {url} still says {value:?}, not {expected:?}, after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_replica_streams_from_its_primary_and_catches_up_after_a_stop() {
    let began = Instant::now();
    let mut set = ReplicaSet::start(&bindir(), &ReplicaOptions::default()).expect("start");
    eprintln!("primary and replica started in {:?}", began.elapsed());
    let (primary, replica) = (set.primary_url().to_owned(), set.replica_url(0).to_owned());
    assert_eq!(set.replica_count(), 1);
    assert_ne!(primary, replica);
    let recovery = "SELECT pg_is_in_recovery()::text";
    assert_eq!(query_text(&primary, recovery).await, "false");
    assert_eq!(query_text(&replica, recovery).await, "true");
    let mut data_dirs = Vec::new();
    for url in [&primary, &replica] {
        data_dirs.push(PathBuf::from(query_text(url, "SHOW data_directory").await));
    }

    execute(&primary, "CREATE TABLE t (n int); INSERT INTO t VALUES (1)").await;
    let count = "SELECT count(*)::text FROM t";
    wait_for(&replica, count, "1").await;

    set.stop_replica(0).expect("stop the replica");
    assert!(
        PgConnection::connect(&replica).await.is_err(),
        "a stopped replica accepts connections"
    );
    execute(&primary, "INSERT INTO t VALUES (2)").await;
    set.start_replica(0).expect("start the replica again");
    assert_eq!(query_text(&replica, recovery).await, "true");
    wait_for(&replica, count, "2").await;

    set.close().expect("stop everything");
    for dir in &data_dirs {
        assert_eq!(processes_mentioning(dir), Vec::<u32>::new(), "{dir:?}");
        assert!(!dir.exists(), "{dir:?} survived");
    }
}

#[tokio::test]
async fn an_apply_delay_holds_commits_back_on_the_replica() {
    let delay = Duration::from_secs(3);
    let options = ReplicaOptions::default().apply_delay(delay);
    let set = ReplicaSet::start(&bindir(), &options).expect("start");
    let (primary, replica) = (set.primary_url(), set.replica_url(0));
    assert_eq!(
        query_text(replica, "SHOW recovery_min_apply_delay").await,
        "3s"
    );
    execute(primary, "CREATE TABLE t (n int)").await;
    wait_for(
        replica,
        "SELECT count(*)::text FROM pg_class WHERE relname = 't'",
        "1",
    )
    .await;
    execute(primary, "INSERT INTO t VALUES (1)").await;
    // Committed on the primary, held back on the replica for `delay`.
    assert_eq!(
        query_text(primary, "SELECT count(*)::text FROM t").await,
        "1"
    );
    assert_eq!(
        query_text(replica, "SELECT count(*)::text FROM t").await,
        "0"
    );
    wait_for(replica, "SELECT count(*)::text FROM t", "1").await;
}

/// An installation with only `initdb` and `postgres` (as the relocatable server builds CI
/// tests 12–18 with): each replica is a copy of the stopped primary, and streams all the same.
#[tokio::test]
async fn without_pg_basebackup_a_replica_is_a_copy_of_the_stopped_primary() {
    use std::os::unix::fs::{symlink, PermissionsExt};

    let full = bindir();
    let servers_only = tempfile::tempdir().expect("a directory for the server programs");
    // The server account (`postgres` when tests run as root) runs programs from here.
    std::fs::set_permissions(servers_only.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod the server programs' directory");
    for program in ["initdb", "postgres"] {
        symlink(full.join(program), servers_only.path().join(program)).expect("symlink");
    }
    assert!(!servers_only.path().join("pg_basebackup").exists());

    let options = ReplicaOptions::default().replicas(2);
    let set = ReplicaSet::start(servers_only.path(), &options).expect("start");
    let primary = set.primary_url().to_owned();
    execute(&primary, "CREATE TABLE t (n int); INSERT INTO t VALUES (7)").await;
    for index in 0..set.replica_count() {
        let replica = set.replica_url(index);
        assert_eq!(
            query_text(replica, "SELECT pg_is_in_recovery()::text").await,
            "true"
        );
        wait_for(replica, "SELECT coalesce(sum(n), 0)::text FROM t", "7").await;
    }
    // Each replica streams through its own slot on the primary.
    assert_eq!(
        query_text(
            &primary,
            "SELECT string_agg(slot_name || ':' || active::text, ',' ORDER BY slot_name) \
             FROM pg_replication_slots"
        )
        .await,
        "ormkit_replica_0:true,ormkit_replica_1:true"
    );
    set.close().expect("stop everything");
}
