//! The one migration type, for migrations read from a directory and migrations embedded in
//! a binary alike, and the version ordering key.
//!
//! Plain data: every text is a `Cow<'static, str>`, borrowed from the binary for embedded
//! migrations (so generated code can list them in a `static`) and owned for migrations read
//! from files.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// First-line markers that make a script run outside a transaction: ormkit's own and sqlx's.
pub const NO_TRANSACTION_MARKERS: [&str; 2] = ["-- ormkit:no-transaction", "-- no-transaction"];

/// One migration: a version, a name, an up script and an optional down script.
///
/// Directory migrations come from `discover` (feature `migrations`), which reads and
/// checksums the files; embedded migrations are built with [`Migration::embedded`] by the
/// generated `MIGRATIONS`, with the checksums computed at build time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    /// The version exactly as written in the file or directory name, e.g. `2019-02-26-002946`.
    pub version: Cow<'static, str>,
    /// The name following the version, e.g. `create_users`.
    pub name: Cow<'static, str>,
    /// The script applying the migration.
    pub up: MigrationScript,
    /// The script reverting the migration, if there is one.
    pub down: Option<MigrationScript>,
}

impl Migration {
    /// A migration embedded in a binary, usable in a `static`, as the generated `MIGRATIONS`
    /// lists them: its version, its name, and its up script's path (for messages), checksum
    /// (the SHA-256 computed at build time, never recomputed) and normalised text. It has no
    /// down script until [`with_down`](Self::with_down), and its scripts run in a transaction
    /// unless [`up_outside_transaction`](Self::up_outside_transaction) or
    /// [`down_outside_transaction`](Self::down_outside_transaction) say otherwise.
    ///
    /// ```
    /// use ormkit_schema::Migration;
    ///
    /// static MIGRATIONS: &[Migration] = &[
    ///     Migration::embedded(
    ///         "20240101000000",
    ///         "create_users",
    ///         "20240101000000_create_users/up.sql",
    ///         "3456c330330e5584db1ea42d855fe843569a61c7c200bd34b52f8f9c03b28f0d",
    ///         "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    ///     )
    ///     .with_down(
    ///         "20240101000000_create_users/down.sql",
    ///         "de1015707e41d6682186c3440c58b222518e75eae7becfba74346468eefdfc5d",
    ///         "DROP TABLE users;\n",
    ///     ),
    /// ];
    /// assert_eq!(MIGRATIONS[0].to_string(), "20240101000000_create_users");
    /// ```
    pub const fn embedded(
        version: &'static str,
        name: &'static str,
        up_path: &'static str,
        up_checksum: &'static str,
        up_sql: &'static str,
    ) -> Self {
        Migration {
            version: Cow::Borrowed(version),
            name: Cow::Borrowed(name),
            up: MigrationScript::embedded(up_path, up_checksum, up_sql),
            down: None,
        }
    }

    /// The same migration with a down script, embedded like the up script of
    /// [`embedded`](Self::embedded).
    ///
    /// # Panics
    ///
    /// When the migration already has a down script; in a `static`, that is a compile error.
    pub const fn with_down(
        mut self,
        path: &'static str,
        checksum: &'static str,
        sql: &'static str,
    ) -> Self {
        assert!(
            self.down.is_none(),
            "with_down() on a migration that has a down script"
        );
        let down = MigrationScript::embedded(path, checksum, sql);
        // `previous` is `None`; a `const fn` cannot run destructors, so it is forgotten
        // rather than dropped.
        let previous = self.down.replace(down);
        std::mem::forget(previous);
        self
    }

    /// The same migration, its up script run outside a transaction, statement by statement.
    pub const fn up_outside_transaction(mut self) -> Self {
        self.up.no_transaction = true;
        self
    }

    /// The same migration, its down script run outside a transaction, statement by
    /// statement.
    ///
    /// # Panics
    ///
    /// When the migration has no down script (call [`with_down`](Self::with_down) first); in
    /// a `static`, that is a compile error.
    pub const fn down_outside_transaction(mut self) -> Self {
        match &mut self.down {
            Some(down) => down.no_transaction = true,
            None => panic!("down_outside_transaction() on a migration without a down script"),
        }
        self
    }

    /// The key migrations are ordered by: the version's digits, compared numerically.
    pub fn version_key(&self) -> VersionKey {
        VersionKey::new(&self.version)
    }

    /// The path naming this migration in messages: the migration directory for the
    /// directory layout, the up script for the flat layout.
    pub fn display_path(&self) -> &Path {
        let up = Path::new(self.up.path.as_ref());
        let is_directory_layout = up.file_name().is_some_and(|name| name == "up.sql");
        match up.parent() {
            Some(dir) if is_directory_layout => dir,
            _ => up,
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
///
/// Each script carries its own no-transaction flag: a marker on the first line of one script
/// says nothing about the other, while Diesel's `metadata.toml` sets both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationScript {
    /// The script's path, as shown in messages: the file it was read from, or for an
    /// embedded script its path relative to the migrations directory
    /// (`20240101000100_users_posts/up.sql`).
    pub path: Cow<'static, str>,
    /// The script's text, normalised (`normalise`, feature `checksum`): no byte-order mark,
    /// LF line endings.
    pub sql: Cow<'static, str>,
    /// Lowercase hexadecimal SHA-256 of `sql` (see `checksum`, feature `checksum`),
    /// computed when the file was read, or at build time for an embedded script.
    pub checksum: Cow<'static, str>,
    /// Whether the script must run outside a transaction, statement by statement: its first
    /// line is one of [`NO_TRANSACTION_MARKERS`], or Diesel's `metadata.toml` says
    /// `run_in_transaction = false`.
    pub no_transaction: bool,
}

impl MigrationScript {
    /// A script embedded in a binary: borrowed texts, run in a transaction.
    const fn embedded(path: &'static str, checksum: &'static str, sql: &'static str) -> Self {
        MigrationScript {
            path: Cow::Borrowed(path),
            sql: Cow::Borrowed(sql),
            checksum: Cow::Borrowed(checksum),
            no_transaction: false,
        }
    }

    /// Builds a script from its raw text: normalises it, computes its checksum and reads the
    /// no-transaction marker on its first line.
    #[cfg(feature = "checksum")]
    pub fn new(path: impl Into<Cow<'static, str>>, text: &str) -> Self {
        let sql = super::normalise(text);
        let checksum = super::checksum(&sql);
        let first_line = sql.lines().next().unwrap_or_default().trim();
        let no_transaction = NO_TRANSACTION_MARKERS.contains(&first_line);
        MigrationScript {
            path: path.into(),
            sql: Cow::Owned(sql),
            checksum: Cow::Owned(checksum),
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

    /// Built in a `static`, as generated code does; each script keeps its own flag.
    static EMBEDDED: [Migration; 2] = [
        Migration::embedded(
            "2",
            "index",
            "2_index/up.sql",
            "given",
            "CREATE INDEX i ON t (c);",
        )
        .with_down("2_index/down.sql", "other", "DROP INDEX CONCURRENTLY i;")
        .down_outside_transaction(),
        Migration::embedded(
            "3",
            "a",
            "3_a.sql",
            "third",
            "CREATE INDEX CONCURRENTLY j ON t (c);",
        )
        .up_outside_transaction(),
    ];

    #[test]
    fn embedded_migrations_keep_what_they_were_given() {
        let [index, flat] = &EMBEDDED;
        assert_eq!(index.to_string(), "2_index");
        assert_eq!(index.display_path(), Path::new("2_index"));
        assert!(matches!(index.up.sql, Cow::Borrowed(_)));
        assert_eq!(
            (index.up.checksum.as_ref(), index.up.no_transaction),
            ("given", false)
        );
        let down = index.down.as_ref().expect("a down script");
        assert_eq!(down.path, "2_index/down.sql");
        assert_eq!(
            (down.checksum.as_ref(), down.no_transaction),
            ("other", true)
        );

        assert_eq!(flat.display_path(), Path::new("3_a.sql"));
        assert_eq!(
            (flat.up.checksum.as_ref(), flat.up.no_transaction),
            ("third", true)
        );
        assert_eq!(flat.down, None);
    }

    #[test]
    #[should_panic(expected = "without a down script")]
    fn a_down_flag_needs_a_down_script() {
        let _ = Migration::embedded("1", "a", "1_a.sql", "", "").down_outside_transaction();
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
