//! The PostgreSQL server programs of one installation, and its version.

use std::path::{Path, PathBuf};

use crate::account::ServerAccount;
use crate::error::{Error, Result};

/// The oldest supported major version (the first with a status line in `postmaster.pid`).
pub(crate) const MIN_MAJOR: u32 = 10;

/// The programs of one PostgreSQL installation.
#[derive(Debug, Clone)]
pub(crate) struct PgTools {
    /// `initdb`.
    pub(crate) initdb: PathBuf,
    /// `postgres`, the server.
    pub(crate) postgres: PathBuf,
    /// `pg_basebackup`, for streaming replicas.
    pub(crate) pg_basebackup: PathBuf,
    /// The server version, if it could be determined.
    pub(crate) version: Option<PgVersion>,
}

impl PgTools {
    /// The programs in `bindir`; asks `postgres --version` (else
    /// `pg_config --version`) for the version.
    pub(crate) fn locate(bindir: &Path, account: &ServerAccount) -> Self {
        let version = ["postgres", "pg_config"].iter().find_map(|program| {
            let mut command = account.command(&bindir.join(program));
            command.arg("--version");
            let output = command.output().ok().filter(|out| out.status.success())?;
            PgVersion::parse(&String::from_utf8_lossy(&output.stdout))
        });
        PgTools {
            initdb: bindir.join("initdb"),
            postgres: bindir.join("postgres"),
            pg_basebackup: bindir.join("pg_basebackup"),
            version,
        }
    }

    /// Fails for servers older than PostgreSQL 10 (an unknown version passes:
    /// running the tools will tell).
    pub(crate) fn check_supported(&self) -> Result<()> {
        let Some(version) = &self.version else {
            return Ok(());
        };
        let major: f64 = version.major.parse().unwrap_or(f64::MAX);
        if major >= f64::from(MIN_MAJOR) {
            return Ok(());
        }
        Err(Error::UnsupportedVersion {
            version: version.full.clone(),
        })
    }
}

/// A PostgreSQL server version, e.g. `15.20` with major version `15`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgVersion {
    /// The full version, e.g. `15.20` or `17beta1` (only `[A-Za-z0-9.]`).
    pub(crate) full: String,
    /// The major version as in a data directory's `PG_VERSION`, e.g. `15` or `9.6`.
    pub(crate) major: String,
}

impl PgVersion {
    /// Parses `--version` output such as `postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`
    /// or `PostgreSQL 15.20`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let token = text
            .split_whitespace()
            .find(|token| token.starts_with(|c: char| c.is_ascii_digit()))?;
        let full: String = token
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let numbers: Vec<&str> = full
            .split(|c: char| !c.is_ascii_digit())
            .filter(|part| !part.is_empty())
            .collect();
        let first: u32 = numbers.first()?.parse().ok()?;
        let major = match numbers.get(1) {
            Some(second) if first < 10 => format!("{first}.{second}"),
            _ => first.to_string(),
        };
        Some(PgVersion { full, major })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        let v = PgVersion::parse("postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n").unwrap();
        assert_eq!((v.full.as_str(), v.major.as_str()), ("15.20", "15"));
        let v = PgVersion::parse("PostgreSQL 9.6.24").unwrap();
        assert_eq!((v.full.as_str(), v.major.as_str()), ("9.6.24", "9.6"));
        let v = PgVersion::parse("postgres (PostgreSQL) 17beta1").unwrap();
        assert_eq!((v.full.as_str(), v.major.as_str()), ("17beta1", "17"));
        assert_eq!(PgVersion::parse("no digits here"), None);
    }

    #[test]
    fn rejects_servers_older_than_10() {
        let tools = |version: &str| PgTools {
            initdb: "initdb".into(),
            postgres: "postgres".into(),
            pg_basebackup: "pg_basebackup".into(),
            version: PgVersion::parse(version),
        };
        assert!(tools("PostgreSQL 9.6.24").check_supported().is_err());
        assert!(tools("PostgreSQL 10.1").check_supported().is_ok());
        assert!(tools("unknown").check_supported().is_ok());
    }
}
