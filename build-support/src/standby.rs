//! A streaming replica without `pg_basebackup`: a cold copy of the stopped primary's data
//! directory, made a hot standby with `standby.signal`, `primary_conninfo` and
//! `primary_slot_name` (PostgreSQL 12+). For server-only installations (such as the
//! relocatable builds CI tests 12–18 with), which ship `initdb` and `postgres` but no
//! client programs.

use std::fs;
use std::path::Path;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::Connection;

use crate::account::ServerAccount;
use crate::error::{Error, Result};
use crate::fsutil::copy_tree;
use crate::runtime::{block_on, connect};
use crate::tools::PgTools;

/// The first major version whose standbys are configured by `standby.signal` (before, by
/// `recovery.conf`).
const MIN_COLD_COPY_MAJOR: u32 = 12;

/// How a replica's data directory is made from its primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplicaSource {
    /// `pg_basebackup -R` of the running primary (when the installation has it).
    BaseBackup,
    /// A copy of the stopped primary's data directory.
    ColdCopy,
}

impl ReplicaSource {
    /// `pg_basebackup` when `tools` has it, else a cold copy, which needs PostgreSQL 12 or
    /// newer: for older servers the error names the missing program.
    pub(crate) fn for_tools(tools: &PgTools) -> Result<Self> {
        if is_file(&tools.pg_basebackup) {
            return Ok(ReplicaSource::BaseBackup);
        }
        let major = tools
            .version
            .as_ref()
            .and_then(|version| version.major.parse::<u32>().ok());
        match (major, &tools.version) {
            (Some(major), _) if major >= MIN_COLD_COPY_MAJOR => Ok(ReplicaSource::ColdCopy),
            (_, version) => Err(Error::Unsupported(format!(
                "a streaming replica of PostgreSQL {}: {} does not exist, and without it a \
                 replica is a copy of the stopped primary, which needs PostgreSQL {MIN_COLD_COPY_MAJOR} \
                 or newer; install pg_basebackup of the same major version next to postgres",
                version
                    .as_ref()
                    .map_or("(unknown version)", |version| version.full.as_str()),
                tools.pg_basebackup.display()
            ))),
        }
    }
}

fn is_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|meta| meta.is_file())
}

/// Creates the physical replication slots `slots` on the running server at `primary_url`,
/// each reserving WAL at once, so a replica copied from the primary after it stops streams
/// from where the copy ends.
pub(crate) fn create_slots(primary_url: &str, slots: &[String]) -> Result<()> {
    let options = PgConnectOptions::from_str(primary_url).map_err(|err| Error::InvalidUrl {
        url: primary_url.to_owned(),
        reason: err.to_string(),
    })?;
    let database_error = |action: String| {
        move |error| Error::Database {
            action,
            server: primary_url.to_owned(),
            error,
            hint: "the throwaway primary's log is in the directory above its data directory",
        }
    };
    block_on(|| async {
        let mut conn = connect(&options)
            .await
            .map_err(database_error("connect to the throwaway primary".into()))?;
        for slot in slots {
            sqlx::query("SELECT pg_create_physical_replication_slot($1, true)")
                .bind(slot)
                .execute(&mut conn)
                .await
                .map_err(database_error(format!(
                    "create the physical replication slot {slot}"
                )))?;
        }
        let _ = conn.close().await;
        Ok(())
    })?
}

/// Fills `data_dir` with a copy of the stopped primary's `primary_data` and configures it to
/// stream from the primary's socket in `primary_socket` through `slot`.
pub(crate) fn copy_as_standby(
    account: &ServerAccount,
    primary_data: &Path,
    data_dir: &Path,
    primary_socket: &Path,
    slot: &str,
) -> Result<()> {
    copy_tree(primary_data, data_dir, account.owner())?;
    // The primary's slots would stay on the copy, inert but holding WAL back.
    let slots_dir = data_dir.join("pg_replslot");
    let entries = fs::read_dir(&slots_dir)
        .map_err(|err| Error::io(format!("could not read {}", slots_dir.display()), err))?;
    for entry in entries {
        let path = entry
            .map_err(|err| Error::io(format!("could not read {}", slots_dir.display()), err))?
            .path();
        fs::remove_dir_all(&path)
            .map_err(|err| Error::io(format!("could not remove {}", path.display()), err))?;
    }
    for stale in ["postmaster.pid", "postmaster.opts"] {
        let path = data_dir.join(stale);
        if let Err(err) = fs::remove_file(&path) {
            if err.kind() != std::io::ErrorKind::NotFound {
                return Err(Error::io(
                    format!("could not remove {}", path.display()),
                    err,
                ));
            }
        }
    }

    let signal = data_dir.join("standby.signal");
    fs::write(&signal, "")
        .map_err(|err| Error::io(format!("could not write {}", signal.display()), err))?;
    account.chown(&signal)?;
    let conninfo = format!(
        "host={} port=5432 user=postgres application_name={slot}",
        primary_socket.display()
    );
    let settings = format!(
        "\n# A streaming replica of the throwaway primary (ormkit-build-support).\n\
         primary_conninfo = '{}'\nprimary_slot_name = '{}'\n",
        quote_setting(&conninfo),
        quote_setting(slot)
    );
    let auto_conf = data_dir.join("postgresql.auto.conf");
    let mut text = fs::read_to_string(&auto_conf)
        .map_err(|err| Error::io(format!("could not read {}", auto_conf.display()), err))?;
    text.push_str(&settings);
    fs::write(&auto_conf, text)
        .map_err(|err| Error::io(format!("could not write {}", auto_conf.display()), err))?;
    account.chown(&auto_conf)
}

/// `value` inside a single-quoted `postgresql.conf` string.
fn quote_setting(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "''")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::PgVersion;

    fn tools(version: &str) -> PgTools {
        PgTools {
            initdb: "/nonexistent/initdb".into(),
            postgres: "/nonexistent/postgres".into(),
            pg_basebackup: "/nonexistent/pg_basebackup".into(),
            version: PgVersion::parse(version),
        }
    }

    #[test]
    fn without_pg_basebackup_12_and_newer_copy_and_older_say_what_is_missing() {
        for version in ["PostgreSQL 12.22", "PostgreSQL 18.4"] {
            assert_eq!(
                ReplicaSource::for_tools(&tools(version)).unwrap(),
                ReplicaSource::ColdCopy
            );
        }
        let err = ReplicaSource::for_tools(&tools("PostgreSQL 11.22"))
            .unwrap_err()
            .to_string();
        for needed in [
            "PostgreSQL 11.22",
            "/nonexistent/pg_basebackup",
            "12 or newer",
        ] {
            assert!(err.contains(needed), "{needed} missing from: {err}");
        }
    }

    #[test]
    fn settings_are_quoted() {
        assert_eq!(quote_setting("a'b\\c"), "a''b\\\\c");
    }
}
