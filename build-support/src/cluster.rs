//! A throwaway PostgreSQL cluster in a temporary directory, reachable only
//! through a Unix socket (no TCP port, so no port conflicts).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::account::{run, ServerAccount};
use crate::error::{Error, Result, INSTALL_HINT};
use crate::fsutil::copy_tree;
use crate::process::{kill_postmaster, postmaster_pid, serves, wait_gone};
use crate::reap::{reap_stale, write_owner, CLUSTER_PREFIX, SOCKET_PREFIX};
use crate::template::{ensure_template, initdb};
use crate::tools::PgTools;
use crate::urls::socket_url;

/// Server settings for a disposable cluster: socket only, no durability.
const SERVER_OPTIONS: &str = "-p 5432 -c listen_addresses='' -F -c fsync=off \
     -c full_page_writes=off -c synchronous_commit=off -c max_connections=50";

/// A running throwaway cluster; stopped and deleted when dropped.
pub(crate) struct LocalCluster {
    account: ServerAccount,
    tools: PgTools,
    data_dir: PathBuf,
    /// Holds `data/`, the server log and the owner file.
    root: Option<TempDir>,
    /// Holds the server's socket; short, as socket paths are limited to ~107 bytes.
    socket_dir: Option<TempDir>,
    url: String,
}

impl LocalCluster {
    /// Copies the (possibly new) template data directory for the binaries in
    /// `bindir` and starts a server on it.
    pub(crate) fn start(bindir: &Path, template_dir: Option<&Path>) -> Result<Self> {
        let account = ServerAccount::for_server()?;
        let temp = std::env::temp_dir();
        reap_stale(&temp, &account);
        let tools = PgTools::locate(bindir, &account);
        let template = ensure_template(&tools, &account, template_dir)?;

        let root = temp_dir_in(&temp, CLUSTER_PREFIX)?;
        let socket_dir = temp_dir_in(&socket_parent(), SOCKET_PREFIX)?;
        let data_dir = root.path().join("data");
        let cluster = LocalCluster {
            url: socket_url(socket_dir.path()),
            account,
            tools,
            data_dir,
            root: Some(root),
            socket_dir: Some(socket_dir),
        };
        // From here on, dropping `cluster` removes everything again.
        cluster.prepare(template.as_deref())?;
        cluster.launch()?;
        Ok(cluster)
    }

    /// The connection URL of the `postgres` database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server version, if known.
    pub(crate) fn version(&self) -> Option<&str> {
        self.tools.version.as_ref().map(|version| version.full.as_str())
    }

    /// Stops the server and deletes its directories; idempotent.
    pub(crate) fn shutdown(&mut self) -> Result<()> {
        let Some(root) = self.root.take() else {
            return Ok(());
        };
        let mut problems = Vec::new();
        if let Err(problem) = self.stop_server() {
            problems.push(problem);
        }
        let root_path = root.path().to_path_buf();
        for dir in [Some(root), self.socket_dir.take()].into_iter().flatten() {
            let path = dir.path().to_path_buf();
            if let Err(err) = dir.close() {
                problems.push(format!("could not delete {}: {err}", path.display()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Cleanup {
                what: format!("the throwaway cluster in {}", root_path.display()),
                details: problems.join("\n"),
            })
        }
    }

    fn root(&self) -> &Path {
        self.root.as_ref().map_or(Path::new(""), TempDir::path)
    }

    fn socket(&self) -> &Path {
        self.socket_dir.as_ref().map_or(Path::new(""), TempDir::path)
    }

    fn log_file(&self) -> PathBuf {
        self.root().join("server.log")
    }

    /// Fills the data directory and hands the directories to the server account.
    fn prepare(&self, template: Option<&Path>) -> Result<()> {
        write_owner(self.root(), self.socket())
            .map_err(|err| Error::io("could not record the cluster's owner", err))?;
        self.account.chown(self.root())?;
        self.account.chown(self.socket())?;
        match template {
            Some(template) => copy_tree(template, &self.data_dir, self.account.owner()),
            None => {
                fs::create_dir(&self.data_dir).map_err(|err| {
                    Error::io(format!("could not create {}", self.data_dir.display()), err)
                })?;
                self.account.chown(&self.data_dir)?;
                initdb(&self.tools, &self.account, &self.data_dir)
            }
        }
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    fn launch(&self) -> Result<()> {
        let options = format!("-k '{}' {SERVER_OPTIONS}", self.socket().display());
        let mut command = self.account.command(&self.tools.pg_ctl);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-w", "-t", "60", "-s", "-o", &options, "-l"])
            .arg(self.log_file())
            .arg("start");
        match run(command, INSTALL_HINT) {
            Err(Error::Tool {
                status,
                stderr,
                hint,
                ..
            }) => Err(Error::ServerStart {
                status,
                stderr,
                log: fs::read_to_string(self.log_file())
                    .unwrap_or_else(|err| format!("(could not read the server log: {err})")),
                hint,
            }),
            other => other.map(drop),
        }
    }

    /// `pg_ctl stop -m immediate`, falling back to signals.
    fn stop_server(&self) -> Result<(), String> {
        let Some(pid) = postmaster_pid(&self.data_dir) else {
            return Ok(()); // never started, or already stopped
        };
        let mut command = self.account.command(&self.tools.pg_ctl);
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "immediate", "-w", "-t", "10", "-s", "stop"]);
        let stopped = run(command, INSTALL_HINT);
        if stopped.is_ok() && wait_gone(pid, Duration::from_secs(5)) {
            return Ok(());
        }
        if !serves(pid, &self.data_dir) || kill_postmaster(pid) {
            return Ok(());
        }
        Err(format!(
            "the postmaster (pid {pid}) of {} did not stop{}",
            self.data_dir.display(),
            stopped.err().map(|err| format!(": {err}")).unwrap_or_default()
        ))
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Where socket directories go: `/tmp` (short paths), else the temp dir.
fn socket_parent() -> PathBuf {
    let tmp = Path::new("/tmp");
    if tmp.is_dir() {
        tmp.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn temp_dir_in(parent: &Path, prefix: &str) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .map_err(|err| Error::io(format!("could not create a directory in {}", parent.display()), err))
}
