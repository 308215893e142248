//! The Migrator's settings: ordering rules, timeouts, retries, observers, the direct URL.

use std::sync::Arc;
use std::time::Duration;

use super::Migrator;
use crate::migrate::blockers::LockWait;
use crate::migrate::report::Step;

impl Migrator {
    /// Allows applying a pending migration older than the newest applied one (off by
    /// default: such a migration was usually merged late and written against an older
    /// schema).
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .out_of_order(true)
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn out_of_order(mut self, allow: bool) -> Self {
        self.rules.out_of_order = allow;
        self
    }

    /// Goes on when migrations recorded as applied have no file (off by default). They
    /// still cannot be reverted.
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// // A database that ran migrations this build no longer has (a rolled-back deploy).
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .ignore_missing(true)
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn ignore_missing(mut self, ignore: bool) -> Self {
        self.rules.ignore_missing = ignore;
        self
    }

    /// How long to poll for the migration lock (the advisory lock that keeps migrators
    /// apart) before giving up (default 10 minutes). The locks a migration's statements
    /// take are [`statement_lock_timeout`](Self::statement_lock_timeout)'s.
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// use std::time::Duration;
    ///
    /// // Another instance migrating at the same deploy: wait at most a minute for it.
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .lock_timeout(Duration::from_secs(60))
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// PostgreSQL's `lock_timeout` for every statement of every migration (default
    /// [`DEFAULT_STATEMENT_LOCK_TIMEOUT`](super::super::DEFAULT_STATEMENT_LOCK_TIMEOUT), 5 s): how
    /// long one statement may wait for a table lock before the attempt ends (and is retried,
    /// see [`lock_retries`](Self::lock_retries)). `Duration::ZERO` waits without limit;
    /// waits are still reported to [`on_lock_wait`](Self::on_lock_wait).
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// use std::time::Duration;
    ///
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .statement_lock_timeout(Duration::from_secs(2))
    ///     .lock_retries(5)
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn statement_lock_timeout(mut self, timeout: Duration) -> Self {
        self.settings.lock_timeout = timeout;
        self
    }

    /// How many times a migration that its lock timeout ended is run again (default
    /// [`DEFAULT_LOCK_RETRIES`](super::super::DEFAULT_LOCK_RETRIES), 3; 0 never retries). A
    /// migration in a transaction runs again whole (its attempt was rolled back); a
    /// no-transaction script runs again from the statement that timed out (the ones before
    /// it stay applied), unless that statement is a `… CONCURRENTLY` one, which a failure can
    /// leave half done: that is never retried.
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .lock_retries(0) // fail at the first lock timeout, naming the blockers
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock_retries(mut self, retries: u32) -> Self {
        self.settings.lock_retries = retries;
        self
    }

    /// The pause before the first retry after a lock timeout (default
    /// [`DEFAULT_LOCK_RETRY_BACKOFF`](super::super::DEFAULT_LOCK_RETRY_BACKOFF), 1 s); it doubles
    /// with every further retry, up to 30 s.
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// use std::time::Duration;
    ///
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .lock_retry_backoff(Duration::from_millis(200))
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn lock_retry_backoff(mut self, pause: Duration) -> Self {
        self.settings.backoff = pause;
        self
    }

    /// PostgreSQL's `statement_timeout` for every statement of every migration (default:
    /// the server's, usually none). `Duration::ZERO` disables a server-side one.
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// use std::time::Duration;
    ///
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .statement_timeout(Duration::from_secs(300))
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.settings.statement_timeout = Some(timeout);
        self
    }

    /// Calls `report` when a migration waits for a lock another session holds (after a
    /// moment of waiting, then every 10 s it keeps waiting) and when its lock timeout ends
    /// an attempt that will run again: which migration, what it waits for, the blocking
    /// sessions. Every such event is also logged with `tracing` at WARN.
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// # use ormkit_tests::entities;
    /// ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .on_lock_wait(|wait| {
    ///         eprintln!(
    ///             "{} waits for {:?}, held by {} session(s)",
    ///             wait.migration,
    ///             wait.waiting_for,
    ///             wait.blockers.len()
    ///         )
    ///     })
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_lock_wait(mut self, report: impl Fn(&LockWait) + Send + Sync + 'static) -> Self {
        self.on_lock_wait = Some(Arc::new(report));
        self
    }

    /// For migrations written for Diesel that use Diesel's own tracking table (Lemmy's put a
    /// trigger on it), on a database Diesel never ran on: creates `__diesel_schema_migrations`
    /// with Diesel's DDL (`version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT
    /// NULL DEFAULT CURRENT_TIMESTAMP`) in the current schema before the first migration
    /// (unless it exists), as Diesel does. The table stays empty: ormkit records what it
    /// applies in `_ormkit_migrations` only and never writes Diesel's table (Lemmy's trigger
    /// refuses such writes; Diesel's CLI, pointed at this database, would see nothing
    /// applied), and reverting every migration leaves it in place. A table already there
    /// (a database Diesel ran on) is left as it is. Default: off, and a migration that fails
    /// because the table does not exist says to turn this on.
    ///
    /// ```no_run
    /// # async fn example(pool: ormkit::sqlx::PgPool) -> Result<(), ormkit::MigrateError> {
    /// ormkit::Migrator::from_dir(&pool, "migrations")?
    ///     .diesel_compat(true)
    ///     .migrate_up()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn diesel_compat(mut self, enabled: bool) -> Self {
        self.diesel_compat = enabled;
        self
    }

    /// A URL that reaches PostgreSQL directly, for the Migrator's own sessions (its advisory
    /// lock and the connection the migrations run on, with their session settings) when the
    /// pool goes through a transaction-mode pooler (`PoolConfig::pooler`), where a session
    /// lasts one transaction. Default: `ORMKIT_DIRECT_URL`; without either, such a Migrator
    /// refuses to run ([`MigrateError::SessionRequired`]). On other pools it replaces the
    /// pool's own URL for those sessions.
    ///
    /// [`MigrateError::SessionRequired`]: crate::migrate::MigrateError::SessionRequired
    pub fn direct_url(mut self, url: impl Into<String>) -> Self {
        self.direct_url = Some(url.into());
        self
    }

    /// Calls `report` after each step, as it happens (for progress output).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS)
    ///     .on_step(|step| println!("{step}")); // `<version>_<name> (<n> ms)`
    /// migrator.migrate_up().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_step(mut self, report: impl Fn(&Step) + Send + Sync + 'static) -> Self {
        self.on_step = Some(Arc::new(report));
        self
    }
}
