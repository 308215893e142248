//! Replica health: a replica stopped mid-run leaves the rotation with no failed call and
//! returns when it is back; a lagging one leaves and returns as its lag crosses `max_lag`;
//! the lag is reported.

use super::{in_rotation, read_on_replica, wait_until};
use ormkit::{Cluster, Repository};
use ormkit_build_support::ReplicaOptions;
use ormkit_tests::entities::*;
use ormkit_tests::scaleout::Replicated;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a stream of reads saw.
#[derive(Default)]
struct Tally {
    replica: AtomicUsize,
    primary: AtomicUsize,
    failed: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_leaves_the_rotation_without_a_failed_call_and_returns(
) -> anyhow::Result<()> {
    let mut servers = Replicated::start(ReplicaOptions::default()).await?;
    let cluster = Cluster::builder(servers.primary.clone())
        .replica(servers.replicas[0].clone())
        .probe_interval(Duration::from_millis(50))
        .probe_timeout(Duration::from_millis(500))
        .build()
        .await?;
    let ada = Repository::<User>::new(&cluster)
        .insert(NewUser::new("ada@health.io".into()))
        .await?;
    let token = cluster.token().await?;

    // Reads, one after another, from a handle that must see that insert, for the whole test.
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let cluster = cluster.session_after(token);
        let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let users = Repository::<User>::new(&cluster);
                let outcome = async {
                    let on_replica = read_on_replica(&cluster).await?;
                    users.get(ada.id).await?;
                    Ok::<_, ormkit::OrmkitError>(on_replica)
                }
                .await;
                match outcome {
                    Ok(true) => tally.replica.fetch_add(1, Ordering::Relaxed),
                    Ok(false) => tally.primary.fetch_add(1, Ordering::Relaxed),
                    Err(err) => {
                        errors.push(err.to_string());
                        tally.failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            errors
        })
    };
    let seen = |tally: &Tally| {
        (
            tally.replica.load(Ordering::Relaxed),
            tally.primary.load(Ordering::Relaxed),
        )
    };
    wait_until("reads reach the replica", Duration::from_secs(30), || {
        seen(&tally).0 > 20
    })
    .await;

    // Stopped mid-run: out of the rotation; reads carry on, on the primary.
    tokio::task::block_in_place(|| servers.set.stop_replica(0))?;
    wait_until(
        "the replica leaves the rotation",
        Duration::from_secs(30),
        || !in_rotation(&cluster),
    )
    .await;
    let out = cluster.replicas()[0].clone();
    let (_, primary_before) = seen(&tally);
    wait_until("reads go to the primary", Duration::from_secs(30), || {
        seen(&tally).1 > primary_before + 20
    })
    .await;

    // Started again: it catches up and returns.
    tokio::task::block_in_place(|| servers.set.start_replica(0))?;
    wait_until(
        "the replica returns to the rotation",
        Duration::from_secs(60),
        || in_rotation(&cluster),
    )
    .await;
    let (replica_before, _) = seen(&tally);
    wait_until(
        "reads reach the replica again",
        Duration::from_secs(30),
        || seen(&tally).0 > replica_before + 20,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let errors = reader.await?;
    assert_eq!(errors, Vec::<String>::new(), "no read failed");
    assert_eq!(tally.failed.load(Ordering::Relaxed), 0);
    let reason = out.out_because.unwrap_or_default();
    assert!(
        reason.contains("unreachable") || reason.contains("a read failed"),
        "{reason}"
    );
    Ok(())
}

#[tokio::test]
async fn lag_is_measured_reported_and_decides_the_rotation() -> anyhow::Result<()> {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // Local to this thread: the current-thread runtime runs the monitor task here too.
    let _local = metrics::set_default_local_recorder(&recorder);

    let delay = Duration::from_secs(2);
    let servers = Replicated::start(ReplicaOptions::default().apply_delay(delay)).await?;
    let cluster = Cluster::builder(servers.primary.clone())
        .named_replica("delayed", servers.replicas[0].clone())
        .max_lag(Duration::from_millis(500))
        .probe_interval(Duration::from_millis(50))
        .build()
        .await?;
    wait_until(
        "an idle replica is in the rotation, caught up",
        Duration::from_secs(30),
        || in_rotation(&cluster) && cluster.replicas()[0].lag == Some(Duration::ZERO),
    )
    .await;

    // A commit the replica applies `delay` late: its lag grows past max_lag, it leaves.
    let users = Repository::<User>::new(cluster.primary());
    users.insert(NewUser::new("lag@health.io".into())).await?;
    wait_until(
        "the lagging replica leaves",
        Duration::from_secs(30),
        || !in_rotation(&cluster),
    )
    .await;
    let status = cluster.replicas()[0].clone();
    assert_eq!(status.name, "delayed");
    let lag = status.lag.expect("lag measured");
    assert!(lag > Duration::from_millis(500), "{status:?}");
    assert!(
        status.lag_bytes.is_some_and(|bytes| bytes > 0),
        "{status:?}"
    );
    assert!(
        status
            .out_because
            .as_deref()
            .unwrap_or("")
            .contains("max_lag"),
        "{status:?}"
    );
    assert!(
        !read_on_replica(&cluster.session()).await?,
        "reads go to the primary"
    );

    let gauge = |name: &str| {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .find(|(key, ..)| {
                key.key().name() == name
                    && key
                        .key()
                        .labels()
                        .any(|l| l.key() == "replica" && l.value() == "delayed")
            })
            .map(|(.., value)| value)
    };
    match gauge("ormkit_replica_lag_seconds") {
        Some(DebugValue::Gauge(seconds)) => assert!(seconds.into_inner() > 0.0),
        other => panic!("lag gauge: {other:?}"),
    }
    match gauge("ormkit_replica_in_rotation") {
        Some(DebugValue::Gauge(on)) => assert_eq!(on.into_inner(), 0.0),
        other => panic!("rotation gauge: {other:?}"),
    }

    // Applied at last: caught up, it returns.
    wait_until(
        "the replica catches up and returns",
        Duration::from_secs(60),
        || in_rotation(&cluster) && cluster.replicas()[0].lag == Some(Duration::ZERO),
    )
    .await;
    assert!(read_on_replica(&cluster.session()).await?);
    Ok(())
}
