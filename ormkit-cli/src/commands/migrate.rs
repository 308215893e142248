//! `ormkit-cli migrate up | down | status | repair | import`: the runtime Migrator from the
//! shell.

use std::process::ExitCode;
use std::time::Duration;

use ormkit::migrate::{ForeignHistory, MigrateReport, MigrationState, Migrator, StatusReport};
use ormkit::sqlx::PgPool;

use super::{block_on, paragraph, DatabaseArgs};

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrateArgs {
    #[command(subcommand)]
    command: MigrateCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MigrateCommand {
    /// Apply pending migrations, oldest first, each in its own transaction.
    Up(UpArgs),
    /// Revert applied migrations, newest first: one, --steps N, or down to --to VERSION.
    Down(DownArgs),
    /// Show each migration: applied, pending, modified, missing file or failed.
    Status(StatusArgs),
    /// Clear failed no-transaction migrations, after you have inspected the database and
    /// completed or undone what they did by hand; they become pending again.
    Repair(RepairArgs),
    /// Adopt the history of the migrator used before (Diesel or sqlx), once, when switching:
    /// what it applied is recorded as applied, so `up` runs only new migrations.
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Whose tracking table to read: `diesel` (__diesel_schema_migrations) or `sqlx`
    /// (_sqlx_migrations).
    #[arg(long, value_name = "TOOL")]
    from: ForeignHistory,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Apply the pending migrations up to and including this version only.
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
    /// Also apply pending migrations older than the newest applied one.
    #[arg(long)]
    out_of_order: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    script: ScriptArgs,
}

#[derive(Debug, clap::Args)]
struct DownArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// How many of the newest applied migrations to revert.
    #[arg(long, value_name = "N", conflicts_with = "to")]
    steps: Option<usize>,
    /// Revert every applied migration newer than this version (0 reverts all).
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    script: ScriptArgs,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Exit 1 unless every migration is applied and unchanged (none pending, modified,
    /// missing its file or failed): a deploy gate.
    #[arg(long)]
    check: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct RepairArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    lock: LockArgs,
}

/// Options of the commands that run migrations.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Go on when migrations recorded as applied have no file (they cannot be reverted).
    #[arg(long)]
    ignore_missing: bool,
    #[command(flatten)]
    lock: LockArgs,
}

#[derive(Debug, clap::Args)]
struct LockArgs {
    /// How long to wait for another migrator to finish, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    lock_timeout: u64,
}

/// How the statements of each migration may wait and run.
#[derive(Debug, clap::Args)]
struct ScriptArgs {
    /// How long a statement may wait for a lock (lock_timeout), in seconds; 0: no limit
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    statement_lock_timeout: Duration,
    /// How many times a migration whose lock wait timed out runs again (after 1 s, 2 s, …)
    #[arg(long, value_name = "N", default_value_t = ormkit::migrate::DEFAULT_LOCK_RETRIES)]
    lock_retries: u32,
    /// How long a statement may run (statement_timeout), in seconds [default: the server's]
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    statement_timeout: Option<Duration>,
    /// Create Diesel's __diesel_schema_migrations table (Diesel's DDL; ormkit leaves it
    /// empty) before the first migration, for migrations written for Diesel that use it
    #[arg(long)]
    diesel_compat: bool,
}

impl ScriptArgs {
    /// `migrator` with these settings; lock waits are reported on stderr.
    fn apply(&self, migrator: Migrator) -> Migrator {
        let migrator = migrator
            .statement_lock_timeout(self.statement_lock_timeout)
            .lock_retries(self.lock_retries)
            .diesel_compat(self.diesel_compat)
            .on_lock_wait(|wait| errln!("waiting: {wait}"));
        match self.statement_timeout {
            Some(timeout) => migrator.statement_timeout(timeout),
            None => migrator,
        }
    }
}

/// Parses seconds, fractions allowed (`0.5`).
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("{text:?} is not a number of seconds from 0 on"))
}

pub(crate) fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        match args.command {
            MigrateCommand::Up(args) => up(args).await,
            MigrateCommand::Down(args) => down(args).await,
            MigrateCommand::Status(args) => status(args).await,
            MigrateCommand::Repair(args) => repair(args).await,
            MigrateCommand::Import(args) => import(args).await,
        }
    })?
}

/// The Migrator for `db`'s directory, with the shared options.
fn migrator(pool: &PgPool, db: &DatabaseArgs, lock: &LockArgs) -> anyhow::Result<Migrator> {
    Ok(from_dir(pool, db)?.lock_timeout(Duration::from_secs(lock.lock_timeout)))
}

/// The Migrator for `db`'s directory; what discovery warns about goes to stderr.
pub(crate) fn from_dir(pool: &PgPool, db: &DatabaseArgs) -> anyhow::Result<Migrator> {
    let migrator = Migrator::from_dir(pool, &db.migrations).map_err(paragraph)?;
    for warning in migrator.warnings() {
        errln!("warning: {warning}");
    }
    Ok(migrator)
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    let pool = args.db.pool().await?;
    let migrator = args
        .script
        .apply(migrator(&pool, &args.db, &args.run.lock)?)
        .ignore_missing(args.run.ignore_missing)
        .out_of_order(args.out_of_order)
        .on_step(|step| outln!("applied {step}"));
    let report = match &args.to {
        Some(version) => migrator.migrate_up_to(version).await,
        None => migrator.migrate_up().await,
    };
    pool.close().await;
    summarise(&report.map_err(paragraph)?, "apply");
    Ok(ExitCode::SUCCESS)
}

async fn down(args: DownArgs) -> anyhow::Result<ExitCode> {
    let pool = args.db.pool().await?;
    let migrator = args
        .script
        .apply(migrator(&pool, &args.db, &args.run.lock)?)
        .ignore_missing(args.run.ignore_missing)
        .on_step(|step| outln!("reverted {step}"));
    let report = match (&args.to, args.steps) {
        (Some(version), _) => migrator.migrate_down_to(version).await,
        (None, steps) => migrator.migrate_down_steps(steps.unwrap_or(1)).await,
    };
    pool.close().await;
    summarise(&report.map_err(paragraph)?, "revert");
    Ok(ExitCode::SUCCESS)
}

fn summarise(report: &MigrateReport, verb: &str) {
    if report.steps.is_empty() {
        outln!("nothing to {verb}");
    }
    match &report.current_version {
        Some(version) => outln!("database is at version {version}"),
        None => outln!("database has no migration applied"),
    }
}

async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let pool = args.db.pool().await?;
    let status = from_dir(&pool, &args.db)?.status().await;
    pool.close().await;
    let status = status.map_err(paragraph)?;
    if args.json {
        outln!("{}", status_json(&status));
    } else {
        outln!("{status}");
    }
    if args.check && !status.is_up_to_date() {
        errln!(
            "error: the database is not up to date with {} (see the status above)",
            args.db.migrations.display()
        );
        return Ok(ExitCode::from(crate::status::CHECK_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The status as JSON: `current_version`, `up_to_date`, and per migration its `version`,
/// `name`, `state` (the table's word), `applied_at` (RFC 3339), `duration_ms`,
/// `reversible`, and the checksums of a modified one or the start of a failed down.
pub(crate) fn status_json(status: &StatusReport) -> serde_json::Value {
    let migrations: Vec<serde_json::Value> = status
        .migrations
        .iter()
        .map(|m| {
            let mut entry = serde_json::json!({
                "version": m.version,
                "name": m.name,
                "state": m.state.label(),
                "applied_at": m.applied_at.map(|at| at.to_rfc3339()),
                "duration_ms": m.duration.map(|d| d.as_millis() as u64),
                "reversible": m.reversible,
            });
            match &m.state {
                MigrationState::Modified {
                    applied_checksum,
                    file_checksum,
                } => {
                    entry["applied_checksum"] = applied_checksum.as_str().into();
                    entry["file_checksum"] = file_checksum.as_str().into();
                }
                MigrationState::DownFailed { started } => {
                    entry["down_started_at"] = started.to_rfc3339().into();
                }
                _ => {}
            }
            entry
        })
        .collect();
    serde_json::json!({
        "current_version": status.current_version,
        "up_to_date": status.is_up_to_date(),
        "migrations": migrations,
    })
}

async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let pool = args.db.pool().await?;
    let adopted = migrator(&pool, &args.db, &args.run.lock)?
        .ignore_missing(args.run.ignore_missing)
        .import_history(args.from)
        .await;
    pool.close().await;
    let adopted = adopted.map_err(paragraph)?;
    if adopted.is_empty() {
        outln!("{} recorded no applied migration", args.from.tool());
    }
    for migration in adopted {
        outln!("adopted {migration} (applied by {})", args.from.tool());
    }
    Ok(ExitCode::SUCCESS)
}

async fn repair(args: RepairArgs) -> anyhow::Result<ExitCode> {
    let pool = args.db.pool().await?;
    let cleared = migrator(&pool, &args.db, &args.lock)?.repair().await;
    pool.close().await;
    let cleared = cleared.map_err(paragraph)?;
    if cleared.is_empty() {
        outln!("nothing to repair: no migration is recorded as failed");
    }
    for migration in cleared {
        outln!("cleared failed migration {migration}; it is pending again");
    }
    Ok(ExitCode::SUCCESS)
}
