//! Where the router sends each kind of statement, seen from the server that ran it.

use super::{read_on_replica, IN_RECOVERY_AS_WRITE};
use futures::TryStreamExt as _;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use ormkit::{Cluster, Params, Repository};
use ormkit_build_support::ReplicaOptions;
use ormkit_tests::entities::queries::{reports, users as user_queries};
use ormkit_tests::entities::*;
use ormkit_tests::scaleout::Replicated;

#[tokio::test]
async fn reads_go_to_a_replica_writes_locks_transactions_and_raw_sql_to_the_primary(
) -> anyhow::Result<()> {
    let servers = Replicated::start(ReplicaOptions::default()).await?;
    let cluster = Cluster::builder(servers.primary.clone())
        .replica(servers.replicas[0].clone())
        .build()
        .await?;
    assert!(
        cluster.replicas()[0].in_rotation,
        "{:?}",
        cluster.replicas()
    );

    // A read: a replica's session. The same SQL marked as a write: the primary's.
    assert!(read_on_replica(&cluster).await?);
    let (on_replica,): (bool,) = IN_RECOVERY_AS_WRITE
        .fetch_one(&cluster, Params::new())
        .await?;
    assert!(
        !on_replica,
        "a statement not marked as a read went to a replica"
    );

    // Writes succeed (a replica would refuse them: 25006) through a fresh handle too.
    let session = cluster.session();
    let users = Repository::<User>::new(&session);
    let ada = users.insert(NewUser::new("ada@replicas.io".into())).await?;
    let mut patch = UserPatch::new(ada.id);
    patch.display_name = Some(Some("Ada".into()));
    assert!(users.update(patch).await?.is_some());
    assert_eq!(
        user_queries::rename_user(&session, "A".into(), ada.id).await?,
        1
    );
    Repository::<Post>::new(&session)
        .insert(NewPost::new(ada.id, "draft".into()))
        .await?;
    // Locking reads (`FOR UPDATE SKIP LOCKED`, checked and DSL): the primary, or they would
    // fail (a replica refuses row locks: 25006).
    assert!(user_queries::lock_next_post(&session).await?.is_some());
    let locked = cluster
        .session()
        .transaction(|tx| async move {
            User::query()
                .filter(users::ID.eq(ada.id))
                .for_update()
                .fetch_all(&tx)
                .await
        })
        .await?;
    assert_eq!(locked.len(), 1);
    let fresh_lock = User::query()
        .filter(users::ID.eq(ada.id))
        .for_share()
        .fetch_all(&cluster.session())
        .await?;
    assert_eq!(
        fresh_lock.len(),
        1,
        "a locking read outside a transaction: the primary"
    );

    // A transaction runs on the primary, reads included.
    let in_tx = cluster
        .transaction(|tx| async move { read_on_replica(&tx).await })
        .await?;
    assert!(!in_tx, "a transaction's read went to a replica");

    // Raw SQL through the handle goes to the primary; `reader()` is the explicit read.
    let raw: bool = ormkit::sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&cluster)
        .await?;
    assert!(!raw, "raw SQL went to a replica");
    let fresh = cluster.session();
    let read: bool = ormkit::sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(fresh.reader())
        .await?;
    assert!(read, "reader() of a handle without writes is a replica");

    // Typed reads of a handle that has not written: the replica, once it has replayed the
    // rows (the monitor's next samples), tagged `pool=replica` in their spans.
    let token = session.token().await?;
    super::wait_for_replay(&cluster, token).await;
    let reader = cluster.session_after(token);
    // The pool of each statement, as the metrics see it (a recorder local to this thread,
    // where the current-thread runtime runs everything).
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let local = metrics::set_default_local_recorder(&recorder);
    let found = User::query()
        .filter(users::EMAIL.eq("ada@replicas.io"))
        .fetch_all(&reader)
        .await?;
    let streamed: Vec<User> = User::query().fetch(&reader).try_collect().await?;
    let checked = reports::users_and_posts(&reader).await?;
    Repository::<User>::new(&reader)
        .insert(NewUser::new("grace@replicas.io".into()))
        .await?;
    drop(local);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].display_name.as_deref(), Some("A"));
    assert_eq!(streamed.len(), 1);
    assert_eq!(checked.len(), 1);
    let recorded = snapshotter.snapshot().into_vec();
    let count = |op: &str, pool: &str| -> u64 {
        recorded
            .iter()
            .filter(|(key, ..)| {
                let key = key.key();
                key.name() == "ormkit_queries_total"
                    && key.labels().any(|l| l.key() == "op" && l.value() == op)
                    && key.labels().any(|l| l.key() == "pool" && l.value() == pool)
            })
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("{other:?}"),
            })
            .sum()
    };
    assert_eq!(count("select", "replica"), 3, "{recorded:?}");
    assert_eq!(count("select", "primary"), 0, "{recorded:?}");
    assert_eq!(count("insert", "primary"), 1, "{recorded:?}");
    Ok(())
}
