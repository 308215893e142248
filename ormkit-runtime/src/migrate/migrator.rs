//! [`Migrator`]: the public face of migrations at run time.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ormkit_schema::migrations::{discover_with_warnings, DiscoveryWarning, Migration, VersionKey};
use sqlx::PgPool;

use super::blockers::WaitObserver;
use super::error::MigrateError;
use super::plan::{DownTarget, Rules};
use super::report::Step;
use super::settings::ScriptSettings;

mod commands;
mod options;

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
