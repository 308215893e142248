//! What a Migrator does: status, migrating up and down, repairing, importing another history.

use std::time::Duration;

use ormkit_schema::migrations::Migration;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection};

use super::{Action, Migrator};
use crate::migrate::blockers::Watch;
use crate::migrate::diesel;
use crate::migrate::error::MigrateError;
use crate::migrate::history::History;
use crate::migrate::import::{self, ForeignHistory};
use crate::migrate::lock::{self, MigrationLock};
use crate::migrate::plan::{self, DownTarget};
use crate::migrate::report::{Direction, MigrateReport, Step};
use crate::migrate::run::Runner;
use crate::migrate::status::StatusReport;

impl Migrator {
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
        rows: &[crate::migrate::history::AppliedRow],
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
