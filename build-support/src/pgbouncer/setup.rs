//! What a throwaway PgBouncer runs with: the upstream server from a URL, `pgbouncer.ini`,
//! and the `pgbouncer` program.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use url::Url;

use super::{PgBouncerOptions, PGBOUNCER_HINT, PORT};
use crate::account::spawn_error;
use crate::error::{Error, Result};
use crate::optional_tools::{PGBOUNCER, SYSTEM_DIRS};
use crate::urls::redact;

/// The server PgBouncer forwards to, from a connection URL.
pub(super) struct Upstream {
    /// A host name or address, or a socket directory.
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: Option<String>,
    pub(super) database: String,
}

impl Upstream {
    pub(super) fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: redact(url),
            reason,
        };
        let parsed = Url::parse(url).map_err(|err| invalid(err.to_string()))?;
        let param = |name: &str| {
            parsed
                .query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let host = param("host")
            .or_else(|| parsed.host_str().map(str::to_owned))
            .ok_or_else(|| invalid("no host".into()))?;
        let user = param("user").unwrap_or_else(|| match parsed.username() {
            "" => "postgres".to_owned(),
            name => name.to_owned(),
        });
        let database = param("dbname").unwrap_or_else(|| match parsed.path() {
            "" | "/" => user.clone(),
            path => path.trim_start_matches('/').to_owned(),
        });
        let plain = |text: &str| text.chars().all(|c| c.is_ascii_graphic() && c != '\'');
        if ![&host, &user, &database].iter().all(|part| plain(part)) {
            return Err(invalid(
                "pgbouncer's configuration takes only printable ASCII without quotes in host, user and database".into(),
            ));
        }
        Ok(Upstream {
            port: param("port")
                .and_then(|port| port.parse().ok())
                .or(parsed.port())
                .unwrap_or(5432),
            password: param("password").or_else(|| parsed.password().map(str::to_owned)),
            host,
            user,
            database,
        })
    }

    /// The same user and database, through PgBouncer's socket in `socket_dir`.
    pub(super) fn url_through(&self, socket_dir: &Path) -> Result<String> {
        let mut url = Url::parse(&format!("postgres://localhost:{PORT}/")).map_err(|err| {
            Error::io(
                "could not build pgbouncer's url",
                std::io::Error::other(err),
            )
        })?;
        let _ = url.set_username(&self.user);
        url.set_path(&self.database);
        url.query_pairs_mut()
            .append_pair("host", &socket_dir.to_string_lossy());
        Ok(url.into())
    }
}

/// `pgbouncer.ini`: every database of the upstream server, as the connecting user.
pub(super) fn config(
    target: &Upstream,
    socket: &Path,
    root: &Path,
    options: &PgBouncerOptions,
) -> String {
    let password = target
        .password
        .as_deref()
        .map(|p| format!(" password='{}'", p.replace('\'', "''")))
        .unwrap_or_default();
    format!(
        "[databases]\n\
         * = host={host} port={port}{password}\n\
         \n\
         [pgbouncer]\n\
         listen_addr =\n\
         listen_port = {PORT}\n\
         unix_socket_dir = {socket}\n\
         auth_type = trust\n\
         auth_file = {root}/userlist.txt\n\
         pool_mode = {mode}\n\
         default_pool_size = {size}\n\
         max_client_conn = 1000\n\
         logfile = {root}/pgbouncer.log\n",
        host = target.host,
        port = target.port,
        socket = socket.display(),
        root = root.display(),
        mode = options.mode.as_str(),
        size = options.pool_size,
    )
}

/// `ORMKIT_PGBOUNCER`, else `pgbouncer` in `PATH` or the usual system directories.
pub(super) fn find_pgbouncer(lookup: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    find_pgbouncer_in(lookup, &SYSTEM_DIRS)
}

fn find_pgbouncer_in(lookup: impl Fn(&str) -> Option<String>, system: &[&str]) -> Result<PathBuf> {
    PGBOUNCER.find_in(&lookup, system).ok_or_else(|| {
        spawn_error(
            "pgbouncer",
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not found in PATH or /usr/sbin",
            ),
            PGBOUNCER_HINT,
        )
    })
}

/// `1.18.0` from `PgBouncer 1.18.0`.
pub(super) fn version_of(program: &Path) -> Option<String> {
    let output = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next()?;
    first
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_from_urls() {
        let tcp = Upstream::parse("postgres://postgres@127.0.0.1:5432/app").unwrap();
        assert_eq!((tcp.host.as_str(), tcp.port), ("127.0.0.1", 5432));
        assert_eq!(
            (tcp.user.as_str(), tcp.database.as_str()),
            ("postgres", "app")
        );
        let socket =
            Upstream::parse("postgres://postgres@localhost:5432/postgres?host=/tmp/s").unwrap();
        assert_eq!(socket.host, "/tmp/s");
        let through = socket.url_through(Path::new("/tmp/b")).unwrap();
        assert_eq!(
            through,
            "postgres://postgres@localhost:6432/postgres?host=%2Ftmp%2Fb"
        );
        assert!(Upstream::parse("postgres://h/db'x").is_err());
    }

    #[test]
    fn missing_pgbouncer_names_the_package() {
        let err = find_pgbouncer_in(|_| None, &[]).unwrap_err().to_string();
        assert!(err.contains("apt-get install pgbouncer"), "{err}");
        let explicit = find_pgbouncer_in(
            |name| (name == "ORMKIT_PGBOUNCER").then(|| "/opt/pgb".to_owned()),
            &[],
        );
        assert_eq!(explicit.unwrap(), PathBuf::from("/opt/pgb"));
    }
}
