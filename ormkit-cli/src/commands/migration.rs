//! `ormkit-cli migration create NAME`: a new Diesel-layout migration directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ormkit::chrono::{NaiveDateTime, TimeDelta, Utc};
use ormkit_schema::migrations::{discover_with_warnings, VersionKey};

use super::paragraph;
use crate::status::Usage;

/// Arguments of `migration`.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrationArgs {
    #[command(subcommand)]
    command: MigrationCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MigrationCommand {
    /// Write <migrations>/<UTC timestamp>_<NAME>/up.sql and down.sql (the timestamp is the
    /// next free second when the newest migration is not older than now).
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
    let now = Utc::now().format("%Y%m%d%H%M%S").to_string();
    let version = next_free_version(&args.migrations, now)?;
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
    if !plain {
        return Err(Usage(format!(
            "{name:?} is not a valid migration name: use letters, digits, `_` and `-`, e.g. add_users"
        ))
        .into());
    }
    Ok(())
}

/// `now` (a UTC timestamp), or, when the newest migration in `dir` is not older (two
/// migrations created in one second, a clock behind), the version right after the newest:
/// a new migration is always the newest, never out of order.
fn next_free_version(dir: &Path, now: String) -> anyhow::Result<String> {
    if !dir.exists() {
        return Ok(now);
    }
    let discovery = discover_with_warnings(dir).map_err(paragraph)?;
    for warning in &discovery.warnings {
        errln!("warning: {warning}");
    }
    match discovery.migrations.last() {
        Some(newest) if newest.version_key() >= VersionKey::new(&now) => {
            Ok(version_after(&newest.version))
        }
        _ => Ok(now),
    }
}

/// The version after `version`: one second later for a `YYYYMMDDHHMMSS` timestamp, else the
/// number plus one, as wide as before (`0009` → `0010`).
fn version_after(version: &str) -> String {
    if let Ok(at) = NaiveDateTime::parse_from_str(version, "%Y%m%d%H%M%S") {
        if version.len() == 14 {
            return (at + TimeDelta::seconds(1))
                .format("%Y%m%d%H%M%S")
                .to_string();
        }
    }
    let digits: String = version.chars().filter(char::is_ascii_digit).collect();
    let next = digits.parse::<u128>().map_or(1, |n| n.saturating_add(1));
    format!("{next:0width$}", width = digits.len())
}

#[cfg(test)]
mod tests {
    use super::version_after;

    #[test]
    fn the_version_after_a_timestamp_is_the_next_second() {
        assert_eq!(version_after("20240101000059"), "20240101000100");
        assert_eq!(version_after("20241231235959"), "20250101000000");
    }

    #[test]
    fn the_version_after_a_plain_number_keeps_its_width() {
        assert_eq!(version_after("0009"), "0010");
        assert_eq!(version_after("41"), "42");
        assert_eq!(version_after("99999999999999"), "100000000000000");
    }
}
