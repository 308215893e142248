//! The entity cache over a cluster whose replica applies commits late: a fill never stores
//! a row older than an invalidation the instance has already applied.

use super::read_on_replica;
use ormkit::{Cluster, EntityCache, InvalidationStrategy, Repository};
use ormkit_build_support::ReplicaOptions;
use ormkit_tests::entities::*;
use ormkit_tests::scaleout::Replicated;
use std::time::Duration;

#[tokio::test]
async fn cache_fills_are_never_older_than_an_applied_invalidation() -> anyhow::Result<()> {
    let servers =
        Replicated::start(ReplicaOptions::default().apply_delay(Duration::from_secs(5))).await?;
    let cluster = Cluster::builder(servers.primary.clone())
        .replica(servers.replicas[0].clone())
        .max_lag(Duration::from_secs(600))
        .build()
        .await?;
    // Two instances of an application, each with its cache (listening on the primary).
    let build = || {
        EntityCache::builder()
            .strategy(InvalidationStrategy::strong())
            .entity::<User>()
            .build(cluster.primary())
    };
    let (here, there) = (build().await?, build().await?);
    let ada = Repository::<User>::new(&cluster)
        .insert(NewUser::new("ada@cache.io".into()))
        .await?;
    // The replica has the row (as it is before the update below).
    let inserted = cluster.token().await?;
    super::wait_for_replay(&cluster, inserted).await;
    // Instance "there" caches the row as it is now.
    let there_handle = cluster.session();
    let there_users = there.repository::<User>(&there_handle);
    assert_eq!(there_users.get(ada.id).await?.display_name, None);

    // Instance "here" changes it; "there" applies the invalidation.
    let here_handle = cluster.session();
    let mut patch = UserPatch::new(ada.id);
    patch.display_name = Some(Some("Ada".into()));
    here.repository::<User>(&here_handle).update(patch).await?;
    there.sync().await?;

    // The replica still has the old row, and "there" has no write of its own: its uncached
    // reads go to the replica and see the old row…
    assert!(read_on_replica(&there_handle).await?);
    let replica_row = Repository::<User>::new(&there_handle).get(ada.id).await?;
    assert_eq!(
        replica_row.display_name, None,
        "the replica was expected to lag"
    );
    // …but its cache fills from the primary: never older than the invalidation it applied.
    for _ in 0..3 {
        let cached = there_users.get(ada.id).await?;
        assert_eq!(cached.display_name.as_deref(), Some("Ada"));
    }
    assert!(there.stats().hits >= 2, "{:?}", there.stats());
    // And the writer's own instance reads its write, cached or not.
    let mine = here.repository::<User>(&here_handle).get(ada.id).await?;
    assert_eq!(mine.display_name.as_deref(), Some("Ada"));
    Ok(())
}
