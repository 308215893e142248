//! One module per subcommand; this one parses and dispatches.

mod generate;
mod lock;
mod migrate;
mod migration;
mod validate;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// ormkit's command line.
#[derive(Debug, Parser)]
#[command(
    name = "ormkit-cli",
    version,
    about = "ormkit: schema.lock, code generation, migrations",
    after_help = "Exit status: 0 done; 1 --check found work to do (drift, a stale lock, \
                  migrations not applied); 2 usage; 3 the database or the file system failed."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write or refresh schema.lock from the migrations (applies them to a scratch database).
    Lock(lock::LockArgs),
    /// Write the exact code build.rs would generate, for review.
    Generate(generate::GenerateArgs),
    /// Apply, revert, inspect or repair the migrations of a live database.
    Migrate(migrate::MigrateArgs),
    /// Create migration files.
    Migration(migration::MigrationArgs),
    /// Compare a live database with schema.lock; exit 1 when the code would trip over a
    /// difference (a deploy gate or health check).
    Validate(validate::ValidateArgs),
}

/// Where the migrations, the checked queries and the lock are.
#[derive(Debug, clap::Args)]
pub(crate) struct SchemaPaths {
    /// The migrations directory.
    #[arg(long, default_value = "migrations")]
    migrations: PathBuf,
    /// The checked-SQL directory (`*.sql` files of named queries; absent is none).
    #[arg(long, default_value = "queries")]
    queries: PathBuf,
    /// The lock file.
    #[arg(long, default_value = "schema.lock")]
    lock: PathBuf,
    /// Create Diesel's __diesel_schema_migrations table before the first migration, for
    /// migrations written for Diesel that use it (as build.rs's Config::diesel_compat)
    #[arg(long)]
    diesel_compat: bool,
}

impl SchemaPaths {
    fn config(&self) -> ormkit_codegen::Config {
        let mut config = ormkit_codegen::Config::new();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        config
            .manifest_dir(cwd)
            .migrations(&self.migrations)
            .queries(&self.queries)
            .lock_file(&self.lock)
            .diesel_compat(self.diesel_compat)
            .cargo_directives(false);
        config
    }
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Whatever the command and its database: a build killed earlier may have left a cluster.
    let reaped = ormkit_build_support::reap_stale_clusters();
    if !reaped.is_empty() {
        let dirs: Vec<String> = reaped.iter().map(|d| d.display().to_string()).collect();
        errln!(
            "note: stopped and deleted throwaway PostgreSQL clusters left by killed builds: {}",
            dirs.join(", ")
        );
    }
    match cli.command {
        Command::Lock(args) => lock::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Migration(args) => migration::run(args),
        Command::Validate(args) => validate::run(args),
    }
}

/// The live database a command works on, and its migrations.
#[derive(Debug, clap::Args)]
pub(crate) struct DatabaseArgs {
    /// The database's URL, e.g. postgres://user@host:5432/app.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The migrations directory (Diesel's or sqlx's layout).
    #[arg(long, default_value = "migrations")]
    migrations: PathBuf,
}

impl DatabaseArgs {
    /// A small pool on the database, after one connection attempt under the connect timeout
    /// (`ORMKIT_CONNECT_TIMEOUT_MS`, default 5 s), so that a wrong URL or a server that is
    /// down or refuses us fails at once, naming `host:port` and the cause (a pool would
    /// retry a refused port until its timeout). Exits with status 3, as any database failure.
    async fn pool(&self) -> anyhow::Result<ormkit::sqlx::PgPool> {
        use ormkit::sqlx::postgres::PgPoolOptions;
        let options = ormkit::connect_options(&self.database_url).map_err(|err| {
            anyhow::anyhow!("the URL given by --database-url or DATABASE_URL is invalid: {err}")
        })?;
        let timeout = ormkit::connect::connect_timeout_from_env().map_err(paragraph)?;
        ormkit::connect::probe(&options, timeout)
            .await
            .map_err(|err| {
                anyhow::anyhow!("{err} (the database given by --database-url or DATABASE_URL)")
            })?;
        Ok(PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(options))
    }
}

/// Runs `future` to completion on a single-threaded runtime.
fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

/// An error as one paragraph: its message only, which already includes its causes.
fn paragraph(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{err}")
}
