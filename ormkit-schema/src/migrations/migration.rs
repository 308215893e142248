//! The migration data types and the version ordering key.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// First-line markers that make a script run outside a transaction: ormkit's own and sqlx's.
pub const NO_TRANSACTION_MARKERS: [&str; 2] = ["-- ormkit:no-transaction", "-- no-transaction"];

/// One migration: a version, a name, an up script and an optional down script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    /// The version exactly as written in the file or directory name, e.g. `2019-02-26-002946`.
    pub version: String,
    /// The name following the version, e.g. `create_users`.
    pub name: String,
    /// The script applying the migration.
    pub up: MigrationScript,
    /// The script reverting the migration, if there is one.
    pub down: Option<MigrationScript>,
    /// Whether the up script must run outside a transaction (same as `up.no_transaction`).
    pub no_transaction: bool,
}

impl Migration {
    /// The key migrations are ordered by: the version's digits, compared numerically.
    pub fn version_key(&self) -> VersionKey {
        VersionKey::new(&self.version)
    }

    /// The path naming this migration in messages: the migration directory for the
    /// directory layout, the up script for the flat layout.
    pub fn display_path(&self) -> &Path {
        let is_directory_layout = self
            .up
            .path
            .file_name()
            .is_some_and(|name| name == "up.sql");
        match self.up.path.parent() {
            Some(dir) if is_directory_layout => dir,
            _ => &self.up.path,
        }
    }
}

/// Displays `<version>_<name>`, the migration's file or directory stem.
impl fmt::Display for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.version, self.name)
    }
}

/// One SQL script of a migration (its up or its down script).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationScript {
    /// Where the script was read from (used in error messages).
    pub path: PathBuf,
    /// The script's text, normalised (`normalise`, feature `checksum`).
    pub sql: String,
    /// Lowercase hexadecimal SHA-256 of `sql` (see `checksum`, feature `checksum`).
    pub checksum: String,
    /// Whether the script must run outside a transaction, statement by statement: its first
    /// line is one of [`NO_TRANSACTION_MARKERS`], or Diesel's `metadata.toml` says
    /// `run_in_transaction = false`.
    pub no_transaction: bool,
}

impl MigrationScript {
    /// Builds a script from its raw text: normalises it, computes its checksum and reads the
    /// no-transaction marker on its first line.
    #[cfg(feature = "checksum")]
    pub fn new(path: impl Into<PathBuf>, text: &str) -> Self {
        let sql = super::normalise(text);
        let checksum = super::checksum(&sql);
        let first_line = sql.lines().next().unwrap_or_default().trim();
        let no_transaction = NO_TRANSACTION_MARKERS.contains(&first_line);
        MigrationScript {
            path: path.into(),
            sql,
            checksum,
            no_transaction,
        }
    }
}

/// The ordering key of a migration version: its digits without dashes or leading zeros,
/// compared as an arbitrarily large number.
///
/// `1` < `2019-02-26-002946` < `20190226002947`; `2019-02-26-002946` equals `20190226002946`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionKey(String);

impl VersionKey {
    /// Builds the key from the digits of `version`, ignoring every other character.
    pub fn new(version: &str) -> Self {
        let digits: String = version.chars().filter(char::is_ascii_digit).collect();
        let trimmed = digits.trim_start_matches('0');
        VersionKey(if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        })
    }

    /// Builds the key of a well-formed version: only ASCII digits and dashes, at least one
    /// digit. Returns `None` for anything else.
    pub fn parse(version: &str) -> Option<Self> {
        let well_formed = version.chars().all(|c| c.is_ascii_digit() || c == '-')
            && version.chars().any(|c| c.is_ascii_digit());
        well_formed.then(|| VersionKey::new(version))
    }

    /// The key's digits, without leading zeros (`"0"` for an all-zero version).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Without leading zeros, a longer digit string is a larger number.
        (self.0.len(), &self.0).cmp(&(other.0.len(), &other.0))
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for VersionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_order_numerically() {
        let keys = [
            "1",
            "2019-02-26-002946",
            "20190226002947",
            "999999999999999999999999",
        ]
        .map(|v| VersionKey::parse(v).expect("valid version"));
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(
            VersionKey::new("2019-02-26-002946"),
            VersionKey::new("20190226002946")
        );
        assert_eq!(VersionKey::new("0001"), VersionKey::new("1"));
        assert_eq!(VersionKey::new("00000000000000").as_str(), "0");
    }

    #[test]
    fn parse_rejects_malformed_versions() {
        for bad in ["", "-", "--", "v1", "1.2", "１"] {
            assert_eq!(VersionKey::parse(bad), None, "{bad:?}");
        }
    }

    #[cfg(feature = "checksum")]
    #[test]
    fn script_reads_markers_on_first_line_only() {
        assert!(MigrationScript::new("a", "-- no-transaction\nselect 1").no_transaction);
        assert!(
            MigrationScript::new("a", "\u{feff}  -- ormkit:no-transaction \r\nx").no_transaction
        );
        assert!(!MigrationScript::new("a", "\n-- no-transaction").no_transaction);
        assert!(!MigrationScript::new("a", "-- no-transactions").no_transaction);
        assert!(!MigrationScript::new("a", "").no_transaction);
    }
}
