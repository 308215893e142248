//! Throwaway local clusters (PostgreSQL runs as `postgres` when tests run as root).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ormkit_build_support::{ScratchDatabase, ScratchKind, ScratchPlan};

use crate::support::{bindir, open_tempdir, processes_mentioning, query_text};

/// Starts a cluster, printing how long that took.
fn start(template_dir: Option<&Path>, label: &str) -> ScratchDatabase {
    let began = Instant::now();
    let db = ScratchDatabase::local_cluster(&bindir(), template_dir).expect("start cluster");
    eprintln!(
        "{label}: cluster started in {:?} ({})",
        began.elapsed(),
        db.description()
    );
    db
}

/// The socket directory from a cluster URL's `host=` parameter.
fn socket_dir(url: &str) -> PathBuf {
    let (_, host) = url.split_once("?host=").expect("host parameter");
    PathBuf::from(host)
}

#[tokio::test]
async fn cluster_serves_queries_and_leaves_nothing_behind() {
    let db = start(None, "default template");
    assert_eq!(db.kind(), ScratchKind::LocalCluster);
    assert!(
        db.url()
            .starts_with("postgres://postgres@localhost:5432/postgres?host=/"),
        "{}",
        db.url()
    );

    assert_eq!(
        query_text(db.url(), "SELECT current_user::text").await,
        "postgres"
    );
    let data_dir = PathBuf::from(query_text(db.url(), "SHOW data_directory").await);
    assert!(
        db.description().contains(&data_dir.display().to_string()),
        "{}",
        db.description()
    );
    let sockets = socket_dir(db.url());
    assert!(sockets.join(".s.PGSQL.5432").exists());
    assert!(
        !processes_mentioning(&data_dir).is_empty(),
        "no postmaster found for {}",
        data_dir.display()
    );

    db.close().expect("stop cluster");
    assert_eq!(
        processes_mentioning(&data_dir),
        Vec::<u32>::new(),
        "postmaster survived"
    );
    assert!(
        !data_dir.parent().unwrap().exists(),
        "{} survived",
        data_dir.display()
    );
    assert!(!sockets.exists(), "{} survived", sockets.display());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_cluster() {
    let db = ScratchDatabase::start(&ScratchPlan::LocalCluster {
        bindir: bindir(),
        template_dir: None,
    })
    .expect("start cluster")
    .expect("a cluster plan is not offline");
    let data_dir = PathBuf::from(query_text(db.url(), "SHOW data_directory").await);
    let sockets = socket_dir(db.url());

    drop(db);
    assert_eq!(
        processes_mentioning(&data_dir),
        Vec::<u32>::new(),
        "postmaster survived"
    );
    assert!(!data_dir.parent().unwrap().exists());
    assert!(!sockets.exists());
}

#[test]
fn second_start_reuses_the_template() {
    let scratch = open_tempdir();
    let template = scratch.path().join("template");

    let first = start(Some(&template), "cold (initdb)");
    let pg_version = template.join("PG_VERSION");
    let inode = std::fs::metadata(&pg_version)
        .expect("template was created")
        .ino();
    first.close().expect("stop first cluster");

    let second = start(Some(&template), "warm (template copy)");
    assert_eq!(
        std::fs::metadata(&pg_version).unwrap().ino(),
        inode,
        "template was rebuilt"
    );
    second.close().expect("stop second cluster");
}

#[test]
fn concurrent_starts_share_one_new_template() {
    let scratch = open_tempdir();
    let template = scratch.path().join("template");
    std::thread::scope(|scope| {
        let starts: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| start(Some(&template), "concurrent")))
            .collect();
        for handle in starts {
            handle
                .join()
                .expect("start thread")
                .close()
                .expect("stop cluster");
        }
    });
    let leftovers: Vec<_> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["template"], "staging directories left behind");
}

#[tokio::test]
async fn clusters_run_side_by_side() {
    let (a, b) = (start(None, "side by side a"), start(None, "side by side b"));
    assert_ne!(a.url(), b.url());
    assert_eq!(query_text(a.url(), "SELECT 'a'::text").await, "a");
    assert_eq!(query_text(b.url(), "SELECT 'b'::text").await, "b");
}

/// Only active in the child process `orphan` starts.
#[test]
fn orphan_cluster_helper() {
    crate::orphan::helper_if_asked();
}

#[test]
fn clusters_of_killed_processes_are_reaped() {
    let orphaned = crate::orphan::orphan("cluster::orphan_cluster_helper", None);
    start(None, "after an orphan")
        .close()
        .expect("stop cluster");
    crate::orphan::assert_reaped(&orphaned, "a cluster started after the orphan");
}
