//! One module per subcommand; this one parses and dispatches.

mod generate;
mod lock;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// ormkit's command line.
#[derive(Debug, Parser)]
#[command(
    name = "ormkit-cli",
    version,
    about = "ormkit: schema.lock, code generation, migrations"
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
}

/// Where the migrations and the lock are.
#[derive(Debug, clap::Args)]
pub(crate) struct SchemaPaths {
    /// The migrations directory.
    #[arg(long, default_value = "migrations")]
    migrations: PathBuf,
    /// The lock file.
    #[arg(long, default_value = "schema.lock")]
    lock: PathBuf,
}

impl SchemaPaths {
    fn config(&self) -> ormkit_codegen::Config {
        let mut config = ormkit_codegen::Config::new();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        config
            .manifest_dir(cwd)
            .migrations(&self.migrations)
            .lock_file(&self.lock)
            .cargo_directives(false);
        config
    }
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Lock(args) => lock::run(args),
        Command::Generate(args) => generate::run(args),
    }
}
