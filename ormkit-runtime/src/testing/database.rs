//! [`TestDatabase`]: one test's database, cloned from the template.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor as _, PgConnection, PgPool};

use super::server::{close, drop_database, server, Server};
use super::{spare_sql, spares, template, Fixture};
use crate::Migration;
use ormkit_schema::quote_ident;

/// A database of one test's own, cloned from the template of its migrations (see the
/// [module docs](super)), with a pool on it. [`drop_database`](Self::drop_database) when
/// the test passed, [`keep`](Self::keep) when it failed.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    pool: PgPool,
    server: &'static Server,
    /// Whether spares are on: a passed test's database goes to the background thread.
    spares: bool,
}

impl TestDatabase {
    /// A database for `test`: a spare clone of the template for `migrations` renamed to
    /// the test's name when one is ready (see [`SPARES_VAR`](super::SPARES_VAR)), else a
    /// clone made now (the template is built first if this server has none yet); then
    /// `fixtures`, in order.
    pub async fn create(
        test: &str,
        migrations: &[Migration],
        fixtures: &[Fixture],
    ) -> Result<TestDatabase, String> {
        let server = server()?;
        let spares = spares::wanted()?;
        let template = template::ensure(server, migrations).await?;
        if spares > 0 {
            spares::keep_ready(server, &template, spares);
        }
        let name = unique_name(test);
        // For whoever finds it kept: which test it belonged to.
        let comment = format!("ormkit::test {test}");
        let claimed = spares > 0 && spares::claim(&template, &name, &comment).await?;
        if !claimed {
            let mut admin = server.admin().await?;
            let created = clone(&mut admin, &template, &name, &comment).await;
            close(admin).await;
            created.map_err(|err| format!("{err} on {}", server.description))?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(server.database(&name))
            .await;
        let db = TestDatabase {
            pool: pool.map_err(|err| format!("connecting to {name}: {err}"))?,
            name,
            server,
            spares: spares > 0,
        };
        for fixture in fixtures {
            if let Err(err) = sqlx::raw_sql(fixture.sql).execute(&db.pool).await {
                let kept = db.keep().await;
                return Err(format!("fixture {} failed: {err}\n{kept}", fixture.path));
            }
        }
        Ok(db)
    }

    /// A pool on the database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the pool and drops the database: with spares on, renamed `ormkit_trash_…` and
    /// dropped by the background thread (or the next run's); else at once.
    pub async fn drop_database(self) -> Result<(), String> {
        self.pool.close().await;
        if self.spares {
            return spares::discard(&self.name).await;
        }
        let mut admin = self.server.admin().await?;
        let dropped = drop_database(&mut admin, &self.name).await;
        close(admin).await;
        dropped
    }

    /// Closes the pool and leaves the database in place; what to tell the user.
    pub async fn keep(self) -> String {
        self.pool.close().await;
        let until = if self.server.throwaway {
            " until this test binary exits (set DATABASE_URL to keep it on a server)"
        } else {
            "; drop it when done"
        };
        format!(
            "ormkit::test: kept database {} on {} for inspection{until}",
            self.name, self.server.description
        )
    }
}

/// `name`, a clone of `template` made now, with `comment` on it.
async fn clone(
    admin: &mut PgConnection,
    template: &str,
    name: &str,
    comment: &str,
) -> Result<(), String> {
    admin
        .execute(&*format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(name),
            quote_ident(template)
        ))
        .await
        .map_err(|err| format!("CREATE DATABASE {name} TEMPLATE {template}: {err}"))?;
    let _ = admin
        .execute(&*format!(
            "COMMENT ON DATABASE {} IS {}",
            quote_ident(name),
            spare_sql::literal(comment)
        ))
        .await;
    Ok(())
}

/// `ormkit_test_<test's last path segment, shortened>_<pid>_<counter>`: unique among
/// parallel tests and concurrent runs, recognisable, at most 63 bytes.
fn unique_name(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let short: String = test
        .rsplit("::")
        .next()
        .unwrap_or(test)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    format!(
        "ormkit_test_{short}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
