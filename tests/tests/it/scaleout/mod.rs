//! Scale-out against real servers the tests start: a primary streaming to replicas
//! (`pg_basebackup -R`), and PgBouncer in transaction mode.

mod bouncer;
mod cached;
mod health;
mod routing;
mod visibility;

use ormkit::{CheckedQuery, Cluster, Params};
use std::time::{Duration, Instant};

/// `pg_is_in_recovery()` of the session that ran it, marked as a read: where the router sent
/// a read (`true`: a replica).
static IN_RECOVERY: CheckedQuery = CheckedQuery::new(
    "scaleout",
    "in_recovery",
    "SELECT pg_catalog.pg_is_in_recovery()",
    true,
);

/// The same, marked as a write: raw SQL the router cannot know to be a read.
static IN_RECOVERY_AS_WRITE: CheckedQuery = CheckedQuery::new(
    "scaleout",
    "in_recovery_as_write",
    "SELECT pg_catalog.pg_is_in_recovery()",
    false,
);

/// Whether a read through `db` ran on a replica.
async fn read_on_replica<'a>(db: impl Into<ormkit::Db<'a>>) -> ormkit::Result<bool> {
    let (on_replica,): (bool,) = IN_RECOVERY.fetch_one(db, Params::new()).await?;
    Ok(on_replica)
}

/// Polls `done` every 20 ms until it holds, for at most `limit`; panics naming `what`.
async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (up to a minute) until replica 0 of `cluster` has replayed `token`, as its probes
/// see it.
async fn wait_for_replay(cluster: &Cluster, token: ormkit::Lsn) {
    wait_until(
        "the replica replays the writes",
        Duration::from_secs(60),
        || {
            cluster.replicas()[0]
                .replayed
                .is_some_and(|lsn| lsn >= token)
        },
    )
    .await;
}

/// Whether replica 0 of `cluster` is in the rotation, as of its last probe.
fn in_rotation(cluster: &Cluster) -> bool {
    cluster.replicas()[0].in_rotation
}
