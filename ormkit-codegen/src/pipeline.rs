//! The generator's pipeline: migrations → schema model (from a scratch database, or offline
//! from the lock) → lock check → rendered file, written only when its bytes change.

use crate::config::Config;
use crate::error::{io_err, CodegenError, Result};
use crate::queries::{self, QueryFile};
use crate::render;
use crate::stale_lock;
use ormkit_build_support::{ScratchDatabase, ScratchPlan};
use ormkit_schema::migrations::{
    advise_diesel_table, apply_script, discover_with_warnings, Migration, DIESEL_TABLE,
    DIESEL_TABLE_DDL,
};
use ormkit_schema::schema_lock::short_diff;
use ormkit_schema::{
    introspect, IntrospectOptions, LockedMigration, LockedQuery, SchemaLock, SchemaModel,
};
use sqlx::Connection as _;
use std::path::{Path, PathBuf};

/// Environment variables the generator itself reads (the scratch database reads more:
/// `ormkit_build_support::ENV_VARS`).
const OWN_ENV_VARS: &[&str] = &["ORMKIT_LOCKED", "ORMKIT_UPDATE_LOCK", "ORMKIT_VERBOSE"];

/// The variable `generate()` sets (`cargo:rustc-env`) for every target of the package to
/// the migrations directory it read: `#[ormkit::test]`'s default migrations, in unit tests
/// and in `tests/*.rs` alike.
pub const MIGRATIONS_DIR_VAR: &str = "ORMKIT_MIGRATIONS_DIR";

/// Where the schema came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Migrations applied to a scratch database, described.
    Database(String),
    /// The committed lock, and why there was no database.
    Offline(String),
}

/// How the committed lock compares with the schema the build used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockStatus {
    /// Identical bytes.
    UpToDate,
    /// The committed lock differs (the diff, committed → fresh); a warning was printed.
    Differs(String),
    /// There was no committed lock, and it could not be written there; a warning was
    /// printed.
    Missing,
    /// There was no committed lock: this build wrote it (commit it), so later builds rerun
    /// the generator only when a migration, a query or the lock changes.
    Created,
    /// `ORMKIT_UPDATE_LOCK=1` (or the CLI) wrote the lock.
    Written,
}

/// What [`Config::generate`] produced.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The generated Rust file.
    pub file: PathBuf,
    /// The lock the code was generated from.
    pub lock: SchemaLock,
    /// Where the schema came from.
    pub source: Source,
    /// The committed lock's state.
    pub lock_status: LockStatus,
}

pub(crate) fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name).ok().as_deref().map(str::trim),
        Some("1" | "true" | "yes")
    )
}

/// Writes `bytes` to `path` unless it already holds them, so cargo sees no change.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    std::fs::write(path, bytes).map_err(io_err(path))?;
    Ok(true)
}

fn locked_migrations(migrations: &[Migration]) -> Vec<LockedMigration> {
    migrations.iter().map(LockedMigration::from).collect()
}

impl Config {
    fn cargo(&self, line: &str) {
        if self.cargo_directives {
            println!("cargo:{line}");
        }
    }

    fn warn(&self, text: &str) {
        if self.cargo_directives {
            for line in text.lines() {
                println!("cargo:warning={line}");
            }
        } else {
            eprintln!("warning: {text}");
        }
    }

    /// Stops and deletes throwaway clusters left by killed builds, whatever this run's plan:
    /// a user whose `DATABASE_URL` is always set, or who builds offline, never starts a
    /// cluster that would do it.
    fn reap(&self) {
        let reaped = ormkit_build_support::reap_stale_clusters();
        if !reaped.is_empty() {
            let dirs: Vec<String> = reaped.iter().map(|d| d.display().to_string()).collect();
            self.warn(&format!(
                "ormkit: stopped and deleted throwaway PostgreSQL clusters left by killed builds: {}",
                dirs.join(", ")
            ));
        }
    }

    fn discover(&self) -> Result<(PathBuf, Vec<Migration>)> {
        let dir = self.resolve(&self.migrations);
        self.cargo(&format!("rerun-if-changed={}", dir.display()));
        let discovery = discover_with_warnings(&dir)?;
        for warning in &discovery.warnings {
            self.warn(&format!("ormkit: {warning}"));
        }
        let migrations = discovery.migrations;
        for m in &migrations {
            self.cargo(&format!("rerun-if-changed={}", m.up.path));
            if let Some(down) = &m.down {
                self.cargo(&format!("rerun-if-changed={}", down.path));
            }
        }
        Ok((dir, migrations))
    }

    /// The query files, with `rerun-if-changed` for each (and their directory, when it
    /// exists).
    fn discover_queries(&self) -> Result<Vec<QueryFile>> {
        let dir = self.resolve(&self.queries);
        let files = queries::load(&dir)?;
        if dir.is_dir() {
            self.cargo(&format!("rerun-if-changed={}", dir.display()));
        }
        for file in &files {
            self.cargo(&format!("rerun-if-changed={}", file.path.display()));
        }
        Ok(files)
    }

    /// Applies `migrations` to a scratch database and reads the resulting schema, then
    /// describes the queries on it.
    fn schema_from_database(
        &self,
        scratch: &ScratchDatabase,
        migrations: &[Migration],
        query_files: &[QueryFile],
    ) -> Result<(SchemaModel, Vec<LockedQuery>)> {
        let options = IntrospectOptions {
            schemas: self.schemas.clone(),
            ..IntrospectOptions::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err("tokio runtime"))?;
        runtime.block_on(async {
            let connect = |error| CodegenError::Connect {
                target: scratch.description(),
                error,
            };
            let scratch_options =
                ormkit_build_support::connect_options(scratch.url()).map_err(connect)?;
            let mut conn = sqlx::PgConnection::connect_with(&scratch_options)
                .await
                .map_err(connect)?;
            if self.diesel_compat {
                sqlx::raw_sql(DIESEL_TABLE_DDL)
                    .execute(&mut conn)
                    .await
                    .map_err(|error| CodegenError::Connect {
                        target: format!("{} (creating {DIESEL_TABLE})", scratch.description()),
                        error,
                    })?;
            }
            for m in migrations {
                apply_script(&mut conn, m, &m.up).await.map_err(|err| {
                    advise_diesel_table(
                        err,
                        "`Config::diesel_compat(true)` in build.rs (`--diesel-compat` for \
                         ormkit-cli lock and generate)",
                    )
                })?;
            }
            let mut model = introspect(&mut conn, &options).await?;
            if self.diesel_compat {
                // Diesel's bookkeeping, not the application's: no entity for it.
                model.relations.retain(|r| r.name.name != DIESEL_TABLE);
            }
            let described = queries::describe_all(&mut conn, query_files).await?;
            let _ = conn.close().await;
            Ok((model, described))
        })
    }

    /// Builds a fresh lock from the migrations on a scratch database. Needs a database:
    /// offline, this is an error ([`CodegenError::NeedsDatabase`] when a lock exists,
    /// [`CodegenError::LockMissing`] when none does).
    pub fn fresh_lock(&self) -> Result<SchemaLock> {
        self.reap();
        let (_, migrations) = self.discover()?;
        let query_files = self.discover_queries()?;
        match self.plan() {
            ScratchPlan::Offline { reason } => Err(self.offline_error(reason)),
            plan => self
                .lock_on(&plan, &migrations, &query_files)
                .map(|(lock, _)| lock),
        }
    }

    /// Why a fresh lock cannot be made offline: the lock is missing, or it exists and only a
    /// database could rebuild it.
    fn offline_error(&self, reason: String) -> CodegenError {
        let path = self.resolve(&self.lock);
        if path.is_file() {
            CodegenError::NeedsDatabase { path, reason }
        } else {
            CodegenError::LockMissing { path, reason }
        }
    }

    fn lock_on(
        &self,
        plan: &ScratchPlan,
        migrations: &[Migration],
        query_files: &[QueryFile],
    ) -> Result<(SchemaLock, String)> {
        let scratch = ScratchDatabase::start(plan)?.ok_or_else(|| CodegenError::LockMissing {
            path: self.resolve(&self.lock),
            reason: "offline".into(),
        })?;
        let description = scratch.description();
        let described = self.schema_from_database(&scratch, migrations, query_files);
        // Clean up before reporting; a failed cleanup is reported only if all else worked.
        let closed = scratch.close();
        let (model, queries) = described?;
        closed?;
        let mut lock = SchemaLock::new(locked_migrations(migrations), model);
        lock.queries = queries;
        Ok((lock, description))
    }

    /// Runs the whole pipeline and writes the generated file.
    pub fn generate(&self) -> Result<Generated> {
        for name in OWN_ENV_VARS.iter().chain(ormkit_build_support::ENV_VARS) {
            self.cargo(&format!("rerun-if-env-changed={name}"));
        }
        self.reap();
        let lock_path = self.resolve(&self.lock);
        self.cargo(&format!("rerun-if-changed={}", lock_path.display()));
        let (dir, migrations) = self.discover()?;
        let dir = dir.canonicalize().unwrap_or(dir);
        self.cargo(&format!("rustc-env={MIGRATIONS_DIR_VAR}={}", dir.display()));
        let query_files = self.discover_queries()?;
        let committed = match std::fs::read_to_string(&lock_path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&lock_path)(e)),
        };
        let plan = self.plan();
        let (lock, source, lock_status) = match &plan {
            ScratchPlan::Offline { reason } => {
                let explicit = env_flag("ORMKIT_OFFLINE");
                if !explicit {
                    self.warn(&format!(
                        "ormkit: no PostgreSQL available, generating from {} ({reason})",
                        lock_path.display()
                    ));
                }
                let text = committed.ok_or_else(|| CodegenError::LockMissing {
                    path: lock_path.clone(),
                    reason: reason.clone(),
                })?;
                let lock = SchemaLock::parse(&text, &lock_path.display().to_string())?;
                let drift = lock.drift(&locked_migrations(&migrations));
                if !drift.is_empty() {
                    return Err(CodegenError::StaleLock {
                        path: lock_path,
                        drift,
                    });
                }
                queries::check_offline(&lock_path, &lock.queries, &query_files)?;
                (lock, Source::Offline(reason.clone()), LockStatus::UpToDate)
            }
            plan => {
                let (lock, description) = self.lock_on(plan, &migrations, &query_files)?;
                let status = self.check_committed(&lock, committed.as_deref(), &lock_path)?;
                (lock, Source::Database(description), status)
            }
        };
        if env_flag("ORMKIT_VERBOSE") {
            self.warn(&match &source {
                Source::Database(description) => {
                    format!("ormkit: applied the migrations to a {description}")
                }
                Source::Offline(reason) => format!(
                    "ormkit: generated offline from {} ({reason})",
                    lock_path.display()
                ),
            });
        }
        let out_dir = match &self.out_dir {
            Some(dir) => self.resolve(dir),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(CodegenError::Env {
                    name: "OUT_DIR",
                    hint: "generate() runs in build.rs; elsewhere set Config::out_dir",
                })?,
        };
        write_if_changed(&out_dir.join("schema.lock"), lock.to_text().as_bytes())?;
        let code = render::render(&lock, &migrations, &query_files, self)?;
        let file = out_dir.join(&self.file_name);
        write_if_changed(&file, code.as_bytes())?;
        Ok(Generated {
            file,
            lock,
            source,
            lock_status,
        })
    }

    /// Compares the fresh lock with the committed one: warn, fail under `ORMKIT_LOCKED=1`,
    /// or write under `ORMKIT_UPDATE_LOCK=1`.
    fn check_committed(
        &self,
        fresh: &SchemaLock,
        committed: Option<&str>,
        path: &Path,
    ) -> Result<LockStatus> {
        let (status, message) =
            stale_lock::settle(fresh, committed, path, stale_lock::LockFlags::from_env())?;
        if let Some(message) = message {
            self.warn(&message);
        }
        Ok(status)
    }

    /// Writes a fresh lock to the configured lock file (the CLI's `lock`).
    pub fn write_lock(&self) -> Result<(SchemaLock, bool)> {
        let lock = self.fresh_lock()?;
        let path = self.resolve(&self.lock);
        let changed = write_if_changed(&path, lock.to_text().as_bytes())?;
        Ok((lock, changed))
    }

    /// The diff between the committed lock and a fresh one, `None` when they agree (the CLI's
    /// `lock --check`).
    ///
    /// Offline there is no fresh lock: the committed one is parsed and its migrations are
    /// compared with those on disk, as an offline build does; `Some` then names the added,
    /// removed and changed migrations.
    pub fn check_lock(&self) -> Result<Option<String>> {
        let path = self.resolve(&self.lock);
        if let ScratchPlan::Offline { reason } = self.plan() {
            self.reap();
            let (_, migrations) = self.discover()?;
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(CodegenError::LockMissing { path, reason })
                }
                Err(e) => return Err(io_err(&path)(e)),
            };
            let lock = SchemaLock::parse(&text, &path.display().to_string())?;
            let drift = lock.drift(&locked_migrations(&migrations));
            return Ok((!drift.is_empty()).then(|| {
                format!(
                    "{} records other migrations than {} holds ({drift})",
                    path.display(),
                    self.resolve(&self.migrations).display()
                )
            }));
        }
        let lock = self.fresh_lock()?;
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let text = lock.to_text();
        Ok((committed != text).then(|| short_diff(&committed, &text, 200)))
    }
}

impl Config {
    /// Renders the entities for `lock` without touching a database or the file system: what
    /// [`Config::generate`] writes, for snapshot tests and review tools.
    pub fn render_lock(&self, lock: &SchemaLock, migrations: &[Migration]) -> Result<String> {
        let query_files = queries::load(&self.resolve(&self.queries))?;
        render::render(lock, migrations, &query_files, self)
    }
}
