//! A migrated database per test, on the scratch PostgreSQL the build would use.

use ormkit::sqlx::postgres::PgPoolOptions;
use ormkit::sqlx::PgPool;
use ormkit_build_support::{ScratchDatabase, ScratchPlan};
use ormkit_schema::migrations::apply_script;

/// A throwaway database with the reference migrations applied; dropped with the value.
pub struct TestDb {
    /// A pool on it.
    pub pool: PgPool,
    _scratch: ScratchDatabase,
}

impl TestDb {
    /// The database's URL.
    pub fn url(&self) -> &str {
        self._scratch.url()
    }

    /// Where the database is, for people: `a temporary database … on 127.0.0.1:5432
    /// (DATABASE_URL's server)` or `a throwaway cluster (PostgreSQL 15) in /tmp/… (no
    /// DATABASE_URL; removed at exit)`.
    pub fn description(&self) -> String {
        let why = match self._scratch.kind() {
            ormkit_build_support::ScratchKind::Server => "DATABASE_URL's server",
            ormkit_build_support::ScratchKind::LocalCluster => "no DATABASE_URL; removed at exit",
        };
        format!("a {} ({why})", self._scratch.description())
    }

    /// A fresh database: a temporary one on `DATABASE_URL`'s server when set, else a
    /// throwaway local cluster.
    pub async fn new() -> anyhow::Result<TestDb> {
        let plan = ScratchPlan::from_env();
        let scratch = ScratchDatabase::start(&plan)?
            .ok_or_else(|| anyhow::anyhow!("tests need PostgreSQL: {plan}"))?;
        Self::migrated(scratch).await
    }

    /// A fresh database without the migrations (for the Migrator's examples): a temporary
    /// one on `DATABASE_URL`'s server when set, else a throwaway local cluster.
    pub async fn empty() -> anyhow::Result<TestDb> {
        let plan = ScratchPlan::from_env();
        let scratch = ScratchDatabase::start(&plan)?
            .ok_or_else(|| anyhow::anyhow!("tests need PostgreSQL: {plan}"))?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(scratch.url())
            .await?;
        Ok(TestDb {
            pool,
            _scratch: scratch,
        })
    }

    /// A fresh database on a throwaway cluster of its own, whatever the environment says:
    /// for tests that restart the server.
    pub async fn on_own_cluster() -> anyhow::Result<TestDb> {
        let bindir = ormkit_build_support::find_bindir(|v| std::env::var(v).ok())
            .ok_or_else(|| anyhow::anyhow!("this test needs PostgreSQL's server binaries"))?;
        Self::migrated(ScratchDatabase::local_cluster(&bindir, None)?).await
    }

    /// Restarts the database's own cluster (see [`TestDb::on_own_cluster`]): every
    /// connection is cut, the server stays down for `downtime`, then accepts connections.
    pub fn restart(&mut self, downtime: std::time::Duration) -> anyhow::Result<()> {
        Ok(self._scratch.restart(downtime)?)
    }

    async fn migrated(scratch: ScratchDatabase) -> anyhow::Result<TestDb> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(scratch.url())
            .await?;
        let mut conn = pool.acquire().await?;
        for m in crate::entities::MIGRATIONS {
            apply_script(&mut conn, m, &m.up).await?;
        }
        drop(conn);
        Ok(TestDb {
            pool,
            _scratch: scratch,
        })
    }
}

/// How many spare databases (`ormkit_spare_…`) and passed tests' trash databases
/// (`ormkit_trash_…`) `#[ormkit::test]` has on the server of `pool`.
pub async fn spares_and_trash(pool: &PgPool) -> anyhow::Result<(i64, i64)> {
    Ok(ormkit::sqlx::query_as(
        "SELECT count(*) FILTER (WHERE datname LIKE 'ormkit\\_spare\\_%'), \
                count(*) FILTER (WHERE datname LIKE 'ormkit\\_trash\\_%') \
         FROM pg_database",
    )
    .fetch_one(pool)
    .await?)
}
