//! Migrations embedded in the binary by the generated code, so a deployed program needs no
//! files to migrate its database.

/// One migration as `build.rs` found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedMigration {
    /// The version, as written in the file name.
    pub version: &'static str,
    /// The migration's name.
    pub name: &'static str,
    /// sha256 (hex) of the normalised up script.
    pub checksum: &'static str,
    /// The up script, normalised.
    pub up: &'static str,
    /// The down script, if there is one.
    pub down: Option<&'static str>,
    /// Whether the up script must run outside a transaction.
    pub no_transaction: bool,
}
