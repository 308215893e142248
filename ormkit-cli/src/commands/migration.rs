//! `ormkit-cli migration create NAME`: a new Diesel-layout migration directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ormkit::chrono::Utc;
use ormkit_schema::migrations::{discover_with_warnings, VersionKey};

use super::paragraph;

/// Arguments of `migration`.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrationArgs {
    #[command(subcommand)]
    command: MigrationCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MigrationCommand {
    /// Write <migrations>/<UTC timestamp>_<NAME>/up.sql and down.sql.
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// The migration's name: letters, digits, `_` and `-`, e.g. add_users.
    name: String,
    /// The migrations directory (created if missing).
    #[arg(long, default_value = "migrations")]
    migrations: PathBuf,
}

pub(crate) fn run(args: MigrationArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        MigrationCommand::Create(args) => create(&args),
    }
}

fn create(args: &CreateArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let version = Utc::now().format("%Y%m%d%H%M%S").to_string();
    check_version_is_newest(&args.migrations, &version)?;
    let dir = args.migrations.join(format!("{version}_{}", args.name));
    std::fs::create_dir_all(&dir)
        .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", dir.display()))?;
    let files = [
        (
            "up.sql",
            format!(
                "-- {}: the change. Runs in a transaction; a first line \
                 `-- ormkit:no-transaction` runs it outside one (CREATE INDEX CONCURRENTLY).\n",
                args.name
            ),
        ),
        (
            "down.sql",
            format!("-- Reverts {}: undo everything up.sql does.\n", args.name),
        ),
    ];
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text)
            .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?;
    }
    outln!("created {}/up.sql and down.sql", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Names become part of a directory name and of messages: keep them plain.
fn check_name(name: &str) -> anyhow::Result<()> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    anyhow::ensure!(
        plain,
        "{name:?} is not a valid migration name: use letters, digits, `_` and `-`, e.g. add_users"
    );
    Ok(())
}

/// Refuses a version that would not be the newest: it would be out of order at once.
fn check_version_is_newest(dir: &Path, version: &str) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let discovery = discover_with_warnings(dir).map_err(paragraph)?;
    for warning in &discovery.warnings {
        errln!("warning: {warning}");
    }
    if let Some(newest) = discovery.migrations.last() {
        anyhow::ensure!(
            newest.version_key() < VersionKey::new(version),
            "{} is not older than the new version {version} (the current UTC time): wait a \
             second, or check the clock",
            newest.display_path().display()
        );
    }
    Ok(())
}
