//! [`Migrator`]: the public face of migrations at run time.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ormkit_schema::migrations::{discover_with_warnings, DiscoveryWarning, Migration, VersionKey};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection, PgPool};

use super::blockers::{LockWait, WaitObserver, Watch};
use super::diesel;
use super::error::MigrateError;
use super::history::History;
use super::import::{self, ForeignHistory};
use super::lock::{self, MigrationLock};
use super::plan::{self, DownTarget, Rules};
use super::report::{Direction, MigrateReport, Step};
use super::run::Runner;
use super::settings::ScriptSettings;
use super::status::StatusReport;

/// How long a Migrator polls for the lock by default: long enough for another instance's
/// migrations to finish on a deploy, short enough to fail a stuck deploy.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(600);

/// Applies and reverts migrations; see the [module documentation](super).
///
/// Every run takes the migration lock on a dedicated connection made with the pool's
/// options (so a cancelled run releases it by closing that connection), reads
/// `_ormkit_migrations` (creating it on first use), checks the history, then runs the steps
/// on that connection, one transaction each.
///
/// Every migration's statements run with a `lock_timeout` ([`statement_lock_timeout`],
/// 5 s by default), so a migration never queues silently behind a session holding a lock it
/// needs (while the application's queries queue behind the migration). While it waits,
/// another connection asks PostgreSQL who blocks it, reported to
/// [`on_lock_wait`](Self::on_lock_wait) and the log. When the timeout ends it, nothing of it
/// is applied (its transaction rolled back), so it runs again after a pause (1 s, doubling),
/// up to [`lock_retries`](Self::lock_retries) times (3 by default); then
/// [`MigrateError::LockConflict`] names the blocking sessions.
///
/// [`statement_lock_timeout`]: Self::statement_lock_timeout
pub struct Migrator {
    pool: PgPool,
    migrations: Vec<Migration>,
    warnings: Vec<DiscoveryWarning>,
    rules: Rules,
    lock_timeout: Duration,
    settings: ScriptSettings,
    on_step: Option<StepObserver>,
    on_lock_wait: Option<WaitObserver>,
    direct_url: Option<String>,
    diesel_compat: bool,
}

/// The progress callback of [`Migrator::on_step`].
type StepObserver = Arc<dyn Fn(&Step) + Send + Sync>;

enum Action {
    Up(Option<VersionKey>),
    Down(DownTarget),
}

impl Migrator {
    /// A Migrator for the migrations embedded by the generated code:
    /// `Migrator::new(&pool, entities::MIGRATIONS)`. A deployed binary needs no files.
    ///
    /// The migrations are used as given: each script's checksum (computed at build time) is
    /// what the history is compared with and recorded, and each script's no-transaction flag
    /// says how it runs. Copying a `static` list borrows its texts; nothing is recomputed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// use ormkit::Migrator;
    ///
    /// // At startup: the migrations the build embedded.
    /// let report = Migrator::new(&pool, entities::MIGRATIONS).migrate_up().await?;
    /// assert_eq!(report.steps.len(), entities::MIGRATIONS.len());
    /// assert!(Migrator::new(&pool, entities::MIGRATIONS).migrate_up().await?.steps.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: &PgPool, migrations: &[Migration]) -> Self {
        Self::with_migrations(pool, migrations.to_vec())
    }

    /// A Migrator for the migrations of `dir`, in Diesel's or sqlx's layout (see
    /// [`discover_with_warnings`]), checksummed as they are read. What discovery warns
    /// about (files it ignored, empty up scripts) is logged with `tracing` and kept in
    /// [`warnings`](Self::warnings).
    ///
    /// # Errors
    ///
    /// [`MigrateError::Load`] when the directory cannot be read or holds a misnamed
    /// migration, a duplicate version, …
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// let dir = tempfile::tempdir()?;
    /// let step = dir.path().join("20260101000000_notes");
    /// std::fs::create_dir(&step)?;
    /// std::fs::write(step.join("up.sql"), "CREATE TABLE notes (id int PRIMARY KEY);")?;
    /// std::fs::write(step.join("down.sql"), "DROP TABLE notes;")?;
    /// let migrator = ormkit::Migrator::from_dir(&pool, dir.path())?;
    /// assert!(migrator.warnings().is_empty());
    /// migrator.migrate_up().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_dir(pool: &PgPool, dir: impl AsRef<Path>) -> Result<Self, MigrateError> {
        let discovery = discover_with_warnings(dir.as_ref())?;
        for warning in &discovery.warnings {
            tracing::warn!(target: "ormkit::migrate", "{warning}");
        }
        let mut migrator = Self::with_migrations(pool, discovery.migrations);
        migrator.warnings = discovery.warnings;
        Ok(migrator)
    }

    /// A Migrator for migrations built by other means.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// use ormkit::{Migration, Migrator};
    ///
    /// // Migrations from elsewhere (another crate's, a subset), in any order: sorted by version.
    /// let mine: Vec<Migration> = entities::MIGRATIONS[..2].to_vec();
    /// let migrator = Migrator::with_migrations(&pool, mine);
    /// assert_eq!(migrator.migrations().len(), 2);
    /// migrator.migrate_up().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_migrations(pool: &PgPool, mut migrations: Vec<Migration>) -> Self {
        migrations.sort_by_key(Migration::version_key);
        Migrator {
            pool: pool.clone(),
            migrations,
            warnings: Vec::new(),
            rules: Rules::default(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            settings: ScriptSettings::default(),
            on_step: None,
            on_lock_wait: None,
            direct_url: None,
            diesel_compat: false,
        }
    }

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
    /// [`DEFAULT_STATEMENT_LOCK_TIMEOUT`](super::DEFAULT_STATEMENT_LOCK_TIMEOUT), 5 s): how
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
    /// [`DEFAULT_LOCK_RETRIES`](super::DEFAULT_LOCK_RETRIES), 3; 0 never retries). A
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
    /// [`DEFAULT_LOCK_RETRY_BACKOFF`](super::DEFAULT_LOCK_RETRY_BACKOFF), 1 s); it doubles
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

    /// What discovery warned about when the migrations were read from a directory (files
    /// it ignored, up scripts without a statement); empty for embedded migrations.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("20260101000000_empty.sql"), "-- nothing yet\n")?;
    /// let migrator = ormkit::Migrator::from_dir(&pool, dir.path())?;
    /// assert_eq!(migrator.warnings().len(), 1); // an up script without a statement
    /// assert!(ormkit::Migrator::new(&pool, entities::MIGRATIONS).warnings().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn warnings(&self) -> &[DiscoveryWarning] {
        &self.warnings
    }

    /// The migrations this Migrator knows, in version order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// let versions: Vec<&str> = migrator.migrations().iter().map(|m| &*m.version).collect();
    /// assert!(versions.windows(2).all(|w| w[0] < w[1]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// Where each migration stands. Reads only; takes no lock and creates nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// assert_eq!(migrator.status().await?.pending().count(), entities::MIGRATIONS.len());
    /// migrator.migrate_up().await?;
    /// let status = migrator.status().await?;
    /// assert!(status.is_up_to_date());
    /// println!("{status}"); // a table: version, name, state, applied at, time
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MigrateError::Connect`] when no connection can be made (within the connect
    /// timeout); [`MigrateError::Database`] when the database cannot be read.
    pub async fn status(&self) -> Result<StatusReport, MigrateError> {
        let options = self.session_options()?;
        let mut conn = lock::connect(&options).await?;
        let report = async {
            let history = History::locate(&mut conn).await?;
            let rows = history.load(&mut conn).await?;
            let held = lock::is_held(&mut conn).await?;
            Ok(StatusReport::build(&self.migrations, &rows, held))
        }
        .await;
        let _closed = conn.close().await;
        report
    }

    /// Applies every pending migration, oldest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let report = ormkit::Migrator::new(&pool, entities::MIGRATIONS).migrate_up().await?;
    /// for step in &report.steps {
    ///     println!("applied {step}");
    /// }
    /// assert_eq!(report.current_version.as_deref(), Some(&*entities::MIGRATIONS.last().unwrap().version));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The history checks ([`MigrateError::Failed`], [`MigrateError::ChecksumMismatch`],
    /// [`MigrateError::MissingFile`], [`MigrateError::OutOfOrder`]) before anything runs;
    /// [`MigrateError::Script`] or [`MigrateError::Partial`] when a migration fails (the
    /// earlier ones stay applied); [`MigrateError::LockTimeout`]; [`MigrateError::Database`].
    pub async fn migrate_up(&self) -> Result<MigrateReport, MigrateError> {
        self.locked(Action::Up(None)).await
    }

    /// Applies the pending migrations up to and including `version`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// let second = &entities::MIGRATIONS[1].version;
    /// let report = migrator.migrate_up_to(second).await?;
    /// assert_eq!(report.steps.len(), 2);
    /// assert!(migrator.migrate_up_to("19990101000000").await.is_err()); // no such migration
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`migrate_up`](Self::migrate_up), and [`MigrateError::UnknownVersion`] /
    /// [`MigrateError::InvalidVersion`] for a `version` that names no migration.
    pub async fn migrate_up_to(&self, version: &str) -> Result<MigrateReport, MigrateError> {
        let target = plan::target_key(version)?;
        self.locked(Action::Up(Some(target))).await
    }

    /// Reverts the newest applied migration, if any.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// migrator.migrate_up().await?;
    /// let report = migrator.migrate_down().await?;
    /// assert_eq!(report.steps.len(), 1);
    /// assert_eq!(migrator.status().await?.pending().count(), 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MigrateError::Irreversible`] when it has no down script (before anything runs), the
    /// history checks, and the errors of [`migrate_up`](Self::migrate_up).
    pub async fn migrate_down(&self) -> Result<MigrateReport, MigrateError> {
        self.migrate_down_steps(1).await
    }

    /// Reverts the `steps` newest applied migrations, newest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// migrator.migrate_up().await?;
    /// assert_eq!(migrator.migrate_down_steps(2).await?.steps.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`migrate_down`](Self::migrate_down): if any of them cannot be reverted, none is.
    pub async fn migrate_down_steps(&self, steps: usize) -> Result<MigrateReport, MigrateError> {
        self.locked(Action::Down(DownTarget::Steps(steps))).await
    }

    /// Reverts every applied migration newer than `version`, newest first; `"0"` reverts
    /// them all (as [`migrate_down_all`](Self::migrate_down_all)). Any other version, an
    /// all-zero one such as Diesel's `00000000000000` included, is a migration like any
    /// other: it stays applied.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// migrator.migrate_up().await?;
    /// let first = &entities::MIGRATIONS[0].version;
    /// let report = migrator.migrate_down_to(first).await?; // every migration after the first
    /// assert_eq!(report.current_version.as_deref(), Some(&**first));
    /// migrator.migrate_down_to("0").await?; // and then all of them
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`migrate_down`](Self::migrate_down), and [`MigrateError::UnknownVersion`] /
    /// [`MigrateError::InvalidVersion`].
    pub async fn migrate_down_to(&self, version: &str) -> Result<MigrateReport, MigrateError> {
        if version == "0" {
            return self.migrate_down_all().await;
        }
        let target = plan::target_key(version)?;
        self.locked(Action::Down(DownTarget::To(target))).await
    }

    /// Reverts every applied migration, newest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// migrator.migrate_up().await?;
    /// migrator.migrate_down_all().await?;
    /// assert_eq!(migrator.status().await?.current_version, None);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`migrate_down`](Self::migrate_down): if any of them cannot be reverted, none is.
    pub async fn migrate_down_all(&self) -> Result<MigrateReport, MigrateError> {
        self.locked(Action::Down(DownTarget::All)).await
    }

    /// Clears the rows of failed no-transaction migrations, once a person has inspected the
    /// database and completed or undone what the script did; those migrations are pending
    /// again. Returns `<version>_<name>` of each cleared row.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// migrator.migrate_up().await?;
    /// // Nothing failed, so there is nothing to clear.
    /// assert!(migrator.repair().await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MigrateError::LockTimeout`], [`MigrateError::Database`].
    pub async fn repair(&self) -> Result<Vec<String>, MigrateError> {
        let mut lock = self.lock().await?;
        let result = repair_locked(lock.conn()).await;
        lock.release().await;
        result
    }

    /// Adopts the history of the migrator this project used before (Diesel or sqlx): every
    /// migration that tool recorded as applied is recorded in `_ormkit_migrations`, with the
    /// checksum of its file as it is now, so `migrate_up` applies only what is new. Run once,
    /// when switching; the other tool's table is left as it was. Returns `<version>_<name>`
    /// of each adopted migration.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::empty().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// use ormkit::ForeignHistory;
    ///
    /// // A database Diesel migrated: its tables, and Diesel's record of them.
    /// let diesel = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// diesel.migrate_up().await?;
    /// ormkit::sqlx::raw_sql(
    ///     "DROP TABLE _ormkit_migrations;
    ///      CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY,
    ///                                               run_on timestamp NOT NULL DEFAULT now())",
    /// )
    /// .execute(&pool)
    /// .await?;
    /// for m in entities::MIGRATIONS {
    ///     ormkit::sqlx::query("INSERT INTO __diesel_schema_migrations (version) VALUES ($1)")
    ///         .bind(&*m.version)
    ///         .execute(&pool)
    ///         .await?;
    /// }
    /// let migrator = ormkit::Migrator::new(&pool, entities::MIGRATIONS);
    /// let adopted = migrator.import_history(ForeignHistory::Diesel).await?;
    /// assert_eq!(adopted.len(), entities::MIGRATIONS.len());
    /// assert!(migrator.migrate_up().await?.steps.is_empty()); // nothing runs twice
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MigrateError::HistoryImport`], changing nothing, when `_ormkit_migrations` already
    /// has rows, when the tool's table does not exist, when it records a failed migration,
    /// or when it records a version no file has (unless
    /// [`ignore_missing`](Self::ignore_missing)); [`MigrateError::LockTimeout`],
    /// [`MigrateError::Database`].
    pub async fn import_history(&self, from: ForeignHistory) -> Result<Vec<String>, MigrateError> {
        let mut lock = self.lock().await?;
        let conn = lock.conn();
        let result = async {
            let history = History::locate(conn).await?;
            history.ensure(conn).await?;
            import::import(
                conn,
                &history,
                &self.migrations,
                from,
                self.rules.ignore_missing,
            )
            .await
        }
        .await;
        lock.release().await;
        result
    }

    async fn lock(&self) -> Result<MigrationLock, MigrateError> {
        MigrationLock::acquire(&self.session_options()?, self.lock_timeout).await
    }

    fn session_options(&self) -> Result<PgConnectOptions, MigrateError> {
        lock::session_options(&self.pool, self.direct_url.as_deref())
    }

    async fn locked(&self, action: Action) -> Result<MigrateReport, MigrateError> {
        let mut lock = self.lock().await?;
        let result = self.run_locked(lock.conn(), action).await;
        lock.release().await;
        result
    }

    async fn run_locked(
        &self,
        conn: &mut PgConnection,
        action: Action,
    ) -> Result<MigrateReport, MigrateError> {
        let history = History::locate(conn).await?;
        history.ensure(conn).await?;
        let rows = history.load(conn).await?;
        let pid: i32 = sqlx::query_scalar("SELECT pg_catalog.pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .map_err(MigrateError::db(
                "reading the migration connection's backend pid",
            ))?;
        let watch = Watch::new(
            &self.session_options()?,
            pid,
            self.settings.lock_timeout,
            self.on_lock_wait.clone(),
        );
        if self.diesel_compat {
            diesel::ensure_table(conn).await?;
        }
        let mut runner = Runner {
            history: &history,
            settings: self.settings,
            watch,
            diesel_compat: self.diesel_compat,
        };
        let steps = self.run_steps(conn, &mut runner, &rows, action).await;
        runner.watch.close().await;
        let steps = steps?;
        let rows = history.load(conn).await?;
        let current_version = rows
            .iter()
            .rev()
            .find(|r| r.success)
            .map(|r| r.version.clone());
        Ok(MigrateReport {
            steps,
            current_version,
        })
    }

    async fn run_steps(
        &self,
        conn: &mut PgConnection,
        runner: &mut Runner<'_>,
        rows: &[super::history::AppliedRow],
        action: Action,
    ) -> Result<Vec<Step>, MigrateError> {
        let mut steps = Vec::new();
        match action {
            Action::Up(target) => {
                for m in plan::plan_up(&self.migrations, rows, target.as_ref(), self.rules)? {
                    let took = runner.up(conn, m).await?;
                    steps.push(self.step(m, Direction::Up, took));
                }
            }
            Action::Down(target) => {
                for (m, recorded) in plan::plan_down(&self.migrations, rows, &target, self.rules)? {
                    let took = runner.down(conn, m, &recorded).await?;
                    steps.push(self.step(m, Direction::Down, took));
                }
            }
        }
        Ok(steps)
    }

    /// Builds a step and reports it.
    fn step(&self, m: &Migration, direction: Direction, duration: Duration) -> Step {
        let step = Step {
            version: m.version.to_string(),
            name: m.name.to_string(),
            direction,
            duration,
        };
        if let Some(report) = &self.on_step {
            report(&step);
        }
        step
    }
}

async fn repair_locked(conn: &mut PgConnection) -> Result<Vec<String>, MigrateError> {
    let history = History::locate(conn).await?;
    history.ensure(conn).await?;
    let cleared = history.delete_failed(conn).await?;
    Ok(cleared.iter().map(|row| row.label()).collect())
}

impl fmt::Debug for Migrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<&str> = self.migrations.iter().map(|m| m.version.as_ref()).collect();
        f.debug_struct("Migrator")
            .field("migrations", &versions)
            .field("rules", &self.rules)
            .field("lock_timeout", &self.lock_timeout)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
