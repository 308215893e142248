//! Read-your-writes with a replica that applies commits late (`recovery_min_apply_delay`):
//! a handle never reads older than its own last write, while handles without writes of
//! their own read the (older) replica.

use super::read_on_replica;
use ormkit::{Cluster, Repository};
use ormkit_build_support::ReplicaOptions;
use ormkit_tests::entities::queries::users as user_queries;
use ormkit_tests::entities::*;
use ormkit_tests::scaleout::Replicated;
use std::time::Duration;

/// How late the replica applies each commit: long enough that every read below happens
/// while it still lags.
const DELAY: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_handle_never_reads_older_than_its_own_last_write() -> anyhow::Result<()> {
    let servers = Replicated::start(ReplicaOptions::default().apply_delay(DELAY)).await?;
    let cluster = Cluster::builder(servers.primary.clone())
        .replica(servers.replicas[0].clone())
        .max_lag(Duration::from_secs(600)) // a slow replica stays in the rotation
        .probe_interval(Duration::from_millis(50))
        .build()
        .await?;
    let writer = cluster.session();
    let users = Repository::<User>::new(&writer);
    let ada = users.insert(NewUser::new("ada@ryw.io".into())).await?;

    // Each write is read back at once, by the DSL, the repository and a checked query.
    for round in 0..5 {
        let name = format!("v{round}");
        let mut patch = UserPatch::new(ada.id);
        patch.display_name = Some(Some(name.clone()));
        users.update(patch).await?;
        let by_key = users.get(ada.id).await?;
        let by_query = User::query()
            .filter(users::ID.eq(ada.id))
            .fetch_one(&writer)
            .await?;
        let checked = user_queries::user_by_id(&writer, ada.id).await?;
        for (how, row) in [("get", by_key), ("query", by_query), ("checked", checked)] {
            assert_eq!(
                row.display_name.as_deref(),
                Some(name.as_str()),
                "{how}, round {round}"
            );
        }
    }
    // A transaction's writes too.
    cluster_transaction_write(&writer, ada.id).await?;
    let after_tx = users.get(ada.id).await?;
    assert_eq!(after_tx.display_name.as_deref(), Some("in a transaction"));

    // Meanwhile a handle that wrote nothing reads the replica, which has not applied them:
    // the reads above could only have been right by going to the primary.
    let bystander = cluster.session();
    assert!(
        read_on_replica(&bystander).await?,
        "a bystander reads the replica"
    );
    let stale = Repository::<User>::new(&bystander)
        .find_by_id(ada.id)
        .await?;
    assert_ne!(
        stale.and_then(|u| u.display_name).as_deref(),
        Some("in a transaction"),
        "the replica was expected to lag behind"
    );
    assert!(
        !read_on_replica(&writer).await?,
        "the writer reads the primary meanwhile"
    );

    // The token travels: a handle built from it sees the writes at once.
    let token = writer.token().await?;
    let next_request = cluster.session_after(token);
    let seen = Repository::<User>::new(&next_request).get(ada.id).await?;
    assert_eq!(seen.display_name.as_deref(), Some("in a transaction"));

    // Once the replica has replayed the token, the writer's reads go back to it.
    super::wait_for_replay(&cluster, token).await;
    assert!(
        read_on_replica(&writer).await?,
        "the writer reads the replica again"
    );
    let replayed = Repository::<User>::new(&writer).get(ada.id).await?;
    assert_eq!(replayed.display_name.as_deref(), Some("in a transaction"));
    Ok(())
}

async fn cluster_transaction_write(cluster: &Cluster, id: UserId) -> ormkit::Result<()> {
    cluster
        .transaction(|tx| async move {
            let mut patch = UserPatch::new(id);
            patch.display_name = Some(Some("in a transaction".into()));
            Repository::<User>::new(&tx).update(patch).await?;
            Ok(())
        })
        .await
}
