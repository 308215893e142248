//! Scale-out test support: a migrated primary with streaming replicas, and PgBouncer in
//! front of a test database. Both are real servers the tests start themselves (as the
//! `postgres` user when the tests run as root).

use crate::support::TestDb;
use ormkit::sqlx::PgPool;
use ormkit_build_support::{PgBouncer, PgBouncerOptions, ReplicaOptions, ReplicaSet};
use ormkit_schema::migrations::apply_script;
use std::time::{Duration, Instant};

/// A throwaway primary with the reference migrations applied, streaming to replicas that
/// have replayed them; pools on each server.
///
/// The primary is always a throwaway cluster, whatever `DATABASE_URL` says: a replica needs
/// a primary whose WAL the test owns (to delay it, to stop the replica), and a base backup
/// of a shared server would copy every other test's databases.
pub struct Replicated {
    /// The servers.
    pub set: ReplicaSet,
    /// A pool on the primary.
    pub primary: PgPool,
    /// A pool on each replica.
    pub replicas: Vec<PgPool>,
}

impl Replicated {
    /// Starts the servers, applies the migrations on the primary and waits (up to a minute)
    /// until every replica has replayed them.
    pub async fn start(options: ReplicaOptions) -> anyhow::Result<Replicated> {
        let bindir = ormkit_build_support::find_bindir(|v| std::env::var(v).ok())
            .ok_or_else(|| anyhow::anyhow!("replica tests need PostgreSQL's server binaries"))?;
        let set =
            tokio::task::spawn_blocking(move || ReplicaSet::start(&bindir, &options)).await??;
        let primary = pool(set.primary_url()).await?;
        let mut conn = primary.acquire().await?;
        for m in crate::entities::MIGRATIONS {
            apply_script(&mut conn, m, &m.up).await?;
        }
        drop(conn);
        let mut replicas = Vec::new();
        for i in 0..set.replica_count() {
            let replica = pool(set.replica_url(i)).await?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let users: Option<String> = ormkit::sqlx::query_scalar(
                    "SELECT pg_catalog.to_regclass('public.users')::text",
                )
                .fetch_one(&replica)
                .await?;
                if users.is_some() {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "replica {i} never replayed the migrations"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            replicas.push(replica);
        }
        Ok(Replicated {
            set,
            primary,
            replicas,
        })
    }
}

/// A pool with the smart pool's settings (no ping on every acquire), up to 8 connections.
async fn pool(url: &str) -> anyhow::Result<PgPool> {
    let config = ormkit::PoolConfig {
        max_connections: 8,
        min_connections: 0,
        acquire_timeout: Duration::from_secs(5),
        ..ormkit::PoolConfig::default()
    };
    Ok(config.pool_options().connect(url).await?)
}

/// A migrated test database (on `DATABASE_URL`'s server when set, else a throwaway
/// cluster) with PgBouncer in front of it.
pub struct Bounced {
    /// PgBouncer, in transaction mode unless asked otherwise.
    pub bouncer: PgBouncer,
    /// The database, reached directly through `db.url()` and `db.pool`.
    pub db: TestDb,
}

impl Bounced {
    /// A fresh database behind a PgBouncer with `options`.
    pub async fn start(options: PgBouncerOptions) -> anyhow::Result<Bounced> {
        let db = TestDb::new().await?;
        let url = db.url().to_owned();
        let bouncer =
            tokio::task::spawn_blocking(move || PgBouncer::start(&url, &options)).await??;
        Ok(Bounced { bouncer, db })
    }

    /// The database's URL through PgBouncer.
    pub fn url(&self) -> &str {
        self.bouncer.url()
    }
}
