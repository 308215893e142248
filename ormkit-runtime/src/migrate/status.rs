//! [`StatusReport`]: each migration's state, from the files and the tracking rows.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ormkit_schema::migrations::{Migration, VersionKey};

use super::history::AppliedRow;

/// Where one migration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationState {
    /// Applied, and its file is unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but its up script changed since (checksums over normalised text, so line
    /// endings and byte-order marks do not count).
    Modified {
        /// The checksum recorded when it was applied.
        applied_checksum: String,
        /// The checksum of the file now.
        file_checksum: String,
    },
    /// Applied, but no file has its version any more.
    MissingFile,
    /// A no-transaction up script that broke partway (or whose process died); needs a
    /// person, then `repair`.
    Failed,
    /// A no-transaction down script that broke partway (or whose process died): the
    /// migration is partly reverted; needs a person to finish reverting it, then `repair`.
    DownFailed {
        /// When the down script started.
        started: DateTime<Utc>,
    },
    /// A no-transaction script that another migrator is running right now.
    Running,
}

impl MigrationState {
    /// The word the status table shows.
    pub fn label(&self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Modified { .. } => "modified",
            MigrationState::MissingFile => "missing file",
            MigrationState::Failed => "failed",
            MigrationState::DownFailed { .. } => "down failed",
            MigrationState::Running => "running",
        }
    }
}

/// One line of the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The version, as written in the file name (or as recorded, for a missing file).
    pub version: String,
    /// The migration's name.
    pub name: String,
    /// Where it stands.
    pub state: MigrationState,
    /// When it was applied (started), if it has a row.
    pub applied_at: Option<DateTime<Utc>>,
    /// How long its script took, if it has a row.
    pub duration: Option<Duration>,
    /// Whether a file with a down script exists for it.
    pub reversible: bool,
}

/// Every migration, from the files and the database, in version order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The newest successfully applied version, if any.
    pub current_version: Option<String>,
    /// One entry per migration file or tracking row.
    pub migrations: Vec<MigrationStatus>,
}

impl StatusReport {
    /// Builds the report; `lock_held` tells a failed no-transaction row from one being run.
    pub(crate) fn build(migrations: &[Migration], rows: &[AppliedRow], lock_held: bool) -> Self {
        let mut entries: Vec<(VersionKey, MigrationStatus)> = Vec::new();
        for m in migrations {
            let row = rows.iter().find(|row| row.key() == m.version_key());
            let state = match row {
                None => MigrationState::Pending,
                Some(row) => row_state(row, Some(m), lock_held),
            };
            entries.push((
                m.version_key(),
                entry(&m.version, &m.name, state, row, m.down.is_some()),
            ));
        }
        for row in rows {
            if !migrations.iter().any(|m| m.version_key() == row.key()) {
                let state = row_state(row, None, lock_held);
                entries.push((
                    row.key(),
                    entry(&row.version, &row.name, state, Some(row), false),
                ));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let current_version = rows
            .iter()
            .rev()
            .find(|row| row.success)
            .map(|row| row.version.clone());
        StatusReport {
            current_version,
            migrations: entries.into_iter().map(|(_, status)| status).collect(),
        }
    }

    /// Whether every migration is applied, unchanged and on file.
    pub fn is_up_to_date(&self) -> bool {
        self.migrations
            .iter()
            .all(|m| m.state == MigrationState::Applied)
    }

    /// The migrations still to apply.
    pub fn pending(&self) -> impl Iterator<Item = &MigrationStatus> {
        self.migrations
            .iter()
            .filter(|m| m.state == MigrationState::Pending)
    }

    /// How many migrations have the state labelled `label`.
    fn count(&self, label: &str) -> usize {
        self.migrations
            .iter()
            .filter(|m| m.state.label() == label)
            .count()
    }
}

fn row_state(row: &AppliedRow, file: Option<&Migration>, lock_held: bool) -> MigrationState {
    match file {
        _ if !row.success && lock_held => MigrationState::Running,
        _ if !row.success => match row.down_started_at {
            Some(started) => MigrationState::DownFailed { started },
            None => MigrationState::Failed,
        },
        None => MigrationState::MissingFile,
        Some(m) if m.up.checksum != row.checksum => MigrationState::Modified {
            applied_checksum: row.checksum.clone(),
            file_checksum: m.up.checksum.to_string(),
        },
        Some(_) => MigrationState::Applied,
    }
}

fn entry(
    version: &str,
    name: &str,
    state: MigrationState,
    row: Option<&AppliedRow>,
    reversible: bool,
) -> MigrationStatus {
    MigrationStatus {
        version: version.to_owned(),
        name: name.to_owned(),
        state,
        applied_at: row.map(|row| row.applied_at),
        duration: row.map(|row| Duration::from_millis(row.execution_ms.max(0).unsigned_abs())),
        reversible,
    }
}

/// A table: version, name, state, applied at, duration, down; then notes for modified
/// migrations and a summary line.
impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = [
            "VERSION",
            "NAME",
            "STATE",
            "APPLIED AT (UTC)",
            "DURATION",
            "DOWN",
        ];
        let rows: Vec<[String; 6]> = self
            .migrations
            .iter()
            .map(|m| {
                [
                    m.version.clone(),
                    m.name.clone(),
                    m.state.label().to_owned(),
                    m.applied_at.map_or_else(
                        || "-".to_owned(),
                        |at| at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    ),
                    m.duration
                        .map_or_else(|| "-".to_owned(), |d| format!("{} ms", d.as_millis())),
                    (if m.reversible { "yes" } else { "no" }).to_owned(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 6]| -> fmt::Result {
            let text: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            writeln!(f, "{}", text.join("  ").trim_end())
        };
        line(f, header)?;
        for row in &rows {
            line(f, row.each_ref().map(String::as_str))?;
        }
        for m in &self.migrations {
            if let MigrationState::Modified {
                applied_checksum,
                file_checksum,
            } = &m.state
            {
                writeln!(f, "modified: {}_{} was applied with checksum {applied_checksum}, the file now has {file_checksum}", m.version, m.name)?;
            }
            if let MigrationState::DownFailed { started } = &m.state {
                writeln!(
                    f,
                    "down failed: {}_{}'s down script started {} outside a transaction and did \
                     not finish; finish reverting it by hand, then run `ormkit-cli migrate repair`",
                    m.version,
                    m.name,
                    started.format("%Y-%m-%d %H:%M:%S UTC")
                )?;
            }
        }
        let current = self.current_version.as_deref().unwrap_or("none");
        write!(
            f,
            "current version: {current}; {} applied, {} pending",
            self.count("applied") + self.count("modified") + self.count("missing file"),
            self.count("pending")
        )?;
        for label in [
            "modified",
            "missing file",
            "failed",
            "down failed",
            "running",
        ] {
            let n = self.count(label);
            if n > 0 {
                write!(f, ", {n} {label}")?;
            }
        }
        Ok(())
    }
}
