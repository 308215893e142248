//! The router's cost on a point read: `find_by_id` through a `Cluster` handle (routed to its
//! replica) against the same `find_by_id` on the replica's pool used directly, in the same
//! run, on a throwaway primary with one streaming replica.
//!
//! `cargo bench -p ormkit-tests --bench cluster` (the primary and replica are throwaway
//! clusters whatever DATABASE_URL says).

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ormkit::{CheckedQuery, Cluster, Params, Repository};
use ormkit_build_support::ReplicaOptions;
use ormkit_tests::entities::*;
use ormkit_tests::scaleout::Replicated;
use std::time::{Duration, Instant};

mod support;

static IN_RECOVERY: CheckedQuery =
    CheckedQuery::new("bench", "in_recovery", "SELECT pg_is_in_recovery()", true);

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let servers = rt
        .block_on(Replicated::start(ReplicaOptions::default()))
        .unwrap();
    let replica = servers.replicas[0].clone();
    let (cluster, id) = rt.block_on(async {
        let cluster = Cluster::builder(servers.primary.clone())
            .replica(replica.clone())
            .build()
            .await
            .unwrap();
        let news = (0..5000).map(|i| NewUser::new(format!("user{i:05}@example.com")));
        let ids: Vec<UserId> = Repository::<User>::new(&cluster)
            .insert_many(news)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect();
        // A reader that must see the rows: once the replica has replayed them, it reads there.
        let token = cluster.token().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while cluster.replicas()[0].replayed.is_none_or(|lsn| lsn < token) {
            assert!(Instant::now() < deadline, "the replica never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let reader = cluster.session_after(token);
        let (on_replica,): (bool,) = IN_RECOVERY.fetch_one(&reader, Params::new()).await.unwrap();
        assert!(on_replica, "the routed read must go to the replica");
        (reader, ids[2500])
    });

    let direct = || async {
        Repository::<User>::new(&replica)
            .find_by_id(id)
            .await
            .unwrap()
            .unwrap()
    };
    let routed = || async {
        Repository::<User>::new(&cluster)
            .find_by_id(id)
            .await
            .unwrap()
            .unwrap()
    };
    let mut group = c.benchmark_group("point_read_on_the_replica");
    group.bench_function("replica pool directly", |b| b.to_async(&rt).iter(direct));
    group.bench_function("through the Cluster router", |b| {
        b.to_async(&rt).iter(routed)
    });
    group.finish();
    support::paired(&rt, 51, 300, direct, routed)
        .print("find_by_id: through the Cluster router / the replica pool directly");
    drop(cluster);
    drop(servers);
}

criterion_group!(benches, bench);
criterion_main!(benches);
