//! What a Migrator run reports: the [`Step`]s it took and where the database ended up.

use std::fmt;
use std::time::Duration;

/// Which way a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Applied.
    Up,
    /// Reverted.
    Down,
}

impl Direction {
    /// `up` or `down`: which script runs.
    pub fn script(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// One migration applied or reverted by a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The migration's version, as written.
    pub version: String,
    /// The migration's name.
    pub name: String,
    /// Applied or reverted.
    pub direction: Direction,
    /// How long its script took.
    pub duration: Duration,
}

/// Displays `<version>_<name> (<n> ms)`.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.duration.as_millis();
        write!(f, "{}_{} ({ms} ms)", self.version, self.name)
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// The steps, in the order they ran (empty when there was nothing to do).
    pub steps: Vec<Step>,
    /// The newest applied version afterwards.
    pub current_version: Option<String>,
}
