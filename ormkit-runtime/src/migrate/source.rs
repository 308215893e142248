//! Where a Migrator's migrations come from: the binary (generated `MIGRATIONS`) or a
//! directory, both turned into `ormkit_schema`'s [`Migration`].

use std::path::Path;

use ormkit_schema::migrations::{discover, Migration, MigrationScript};

use super::error::MigrateError;
use crate::EmbeddedMigration;

/// The embedded migrations as [`Migration`]s, in version order.
///
/// Their scripts are named `<version>_<name>/up.sql` and `down.sql` in messages. The up
/// script's no-transaction flag is the embedded one; the down script runs outside a
/// transaction when its own first line says so, or when the flag came from Diesel's
/// `metadata.toml` (which applies to both scripts) rather than from a marker in `up`.
pub(crate) fn from_embedded(embedded: &[EmbeddedMigration]) -> Vec<Migration> {
    let mut migrations: Vec<Migration> = embedded.iter().map(convert).collect();
    migrations.sort_by_key(Migration::version_key);
    migrations
}

fn convert(embedded: &EmbeddedMigration) -> Migration {
    let stem = format!("{}_{}", embedded.version, embedded.name);
    let mut up = MigrationScript::new(format!("{stem}/up.sql"), embedded.up);
    let from_metadata = embedded.no_transaction && !up.no_transaction;
    up.no_transaction = embedded.no_transaction;
    let down = embedded.down.map(|text| {
        let mut down = MigrationScript::new(format!("{stem}/down.sql"), text);
        down.no_transaction |= from_metadata;
        down
    });
    Migration {
        version: embedded.version.to_owned(),
        name: embedded.name.to_owned(),
        no_transaction: up.no_transaction,
        up,
        down,
    }
}

/// The migrations of `dir`, in version order (see [`discover`]).
pub(crate) fn from_dir(dir: &Path) -> Result<Vec<Migration>, MigrateError> {
    Ok(discover(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded(up: &'static str, down: Option<&'static str>, flag: bool) -> EmbeddedMigration {
        EmbeddedMigration {
            version: "2",
            name: "x",
            checksum: "",
            up,
            down,
            no_transaction: flag,
        }
    }

    #[test]
    fn down_scripts_follow_metadata_but_not_an_up_marker() {
        // Diesel's metadata.toml: no marker in the text, flag set → both scripts.
        let m = convert(&embedded(
            "CREATE INDEX CONCURRENTLY i ON t (c);",
            Some("DROP INDEX CONCURRENTLY i;"),
            true,
        ));
        assert!(m.up.no_transaction && m.down.as_ref().unwrap().no_transaction);
        // A marker in up only: the down script runs in a transaction.
        let m = convert(&embedded(
            "-- no-transaction\nSELECT 1;",
            Some("SELECT 2;"),
            true,
        ));
        assert!(m.up.no_transaction && !m.down.as_ref().unwrap().no_transaction);
        // A marker in down only.
        let m = convert(&embedded(
            "SELECT 1;",
            Some("-- ormkit:no-transaction\nSELECT 2;"),
            false,
        ));
        assert!(!m.up.no_transaction && m.down.as_ref().unwrap().no_transaction);
        assert_eq!(m.up.path, Path::new("2_x/up.sql"));
    }

    #[test]
    fn embedded_migrations_are_sorted_by_version_digits() {
        let mut a = embedded("SELECT 1;", None, false);
        a.version = "10";
        let mut b = embedded("SELECT 1;", None, false);
        b.version = "9";
        let versions: Vec<_> = from_embedded(&[a, b])
            .into_iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(versions, ["9", "10"]);
    }
}
