//! A throwaway cluster that speaks TLS, for proving TLS on a real server: `ssl = on` with a
//! CA and server certificate made here (rcgen, in process), listening on a free loopback TCP
//! port as well as its socket, with a `pg_hba.conf` that lets TCP clients in only over TLS
//! (`hostssl`), one of them by client certificate (`cert`).
//!
//! The server certificate names only `localhost`: `host=localhost` passes `verify-full`,
//! `host=127.0.0.1` is a host-name mismatch there and passes `verify-ca`. A second, unrelated
//! CA ([`TlsCluster::wrong_ca_cert`]) signs nothing the server presents.
//!
//! ```no_run
//! use ormkit_build_support::{find_bindir, TlsCluster};
//!
//! let bindir = find_bindir(|var| std::env::var(var).ok()).expect("postgres binaries");
//! let cluster = TlsCluster::start(&bindir)?;
//! let url = format!(
//!     "{}?sslmode=verify-full&sslrootcert={}",
//!     cluster.url("localhost", "postgres", "postgres"),
//!     cluster.ca_cert().display()
//! );
//! # let _ = url;
//! # Ok::<(), ormkit_build_support::Error>(())
//! ```

use std::fmt;
use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use sqlx::postgres::PgConnectOptions;
use url::Url;

use crate::account::ServerAccount;
use crate::cluster::{Fill, LocalCluster};
use crate::error::{Error, Result, INSTALL_HINT};
use crate::runtime::{block_on, connect};

/// The role that logs in by client certificate (the certificate's CN).
pub const CERT_USER: &str = "ormkit_cert_user";

/// The directory, inside the cluster's root (removed with it), holding the certificates,
/// keys and `pg_hba.conf`.
const FILES_DIR: &str = "tls";

/// How many ports to try when the one picked is taken before the server binds it.
const PORT_ATTEMPTS: u32 = 3;

/// `pg_hba.conf`: the superuser over the socket (for setting up), and over TCP only with
/// TLS: [`CERT_USER`] by client certificate, everyone else trusted.
const PG_HBA: &str = "\
# TYPE   DATABASE USER             ADDRESS       METHOD
local    all      all                            trust
hostssl  all      ormkit_cert_user 127.0.0.1/32  cert
hostssl  all      ormkit_cert_user ::1/128       cert
hostssl  all      all              127.0.0.1/32  trust
hostssl  all      all              ::1/128       trust
";

/// A running throwaway cluster with TLS; stopped and deleted (certificates included) when
/// dropped.
pub struct TlsCluster {
    cluster: LocalCluster,
    files: PathBuf,
    port: u16,
}

impl TlsCluster {
    /// Makes a CA, a server certificate for `localhost`, a client certificate for
    /// [`CERT_USER`] and an unrelated CA, starts a cluster from the binaries in `bindir`
    /// with `ssl = on` on a free port of 127.0.0.1, and creates the role [`CERT_USER`]
    /// (`LOGIN CREATEDB`).
    pub fn start(bindir: &Path) -> Result<Self> {
        // The port is free when picked, and may be taken before the server binds it: a
        // server that could not bind is started again on another port.
        let mut attempt = 1;
        loop {
            match Self::start_on(bindir, free_port()?) {
                Err(Error::ServerStart { log, .. })
                    if attempt < PORT_ATTEMPTS && log.contains("could not bind") =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn start_on(bindir: &Path, port: u16) -> Result<Self> {
        let mut files = PathBuf::new();
        let settings = vec![
            format!("port={port}"),
            "listen_addresses=127.0.0.1".to_owned(),
        ];
        let cluster =
            LocalCluster::create_with(bindir, Fill::Template(None), settings, |root, account| {
                files = root.join(FILES_DIR);
                write_files(&files, account)
            })?;
        let tls = TlsCluster {
            cluster,
            files,
            port,
        };
        tls.create_cert_user()?;
        Ok(tls)
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://{user}@{host}:{port}/{database}`, without any TLS parameter: add
    /// `?sslmode=…&sslrootcert=…` (or set `PGSSL*`) as the case needs.
    pub fn url(&self, host: &str, user: &str, database: &str) -> String {
        format!("postgres://{user}@{host}:{}/{database}", self.port)
    }

    /// [`url`](Self::url) with `params` as its query (`sslmode`, `sslrootcert`, …), each value
    /// percent-encoded.
    pub fn url_with(
        &self,
        host: &str,
        user: &str,
        database: &str,
        params: &[(&str, &Path)],
    ) -> String {
        let mut url = Url::parse(&self.url(host, user, database))
            .expect("a url built from a host, a user, a number and a database parses");
        for (key, value) in params {
            url.query_pairs_mut()
                .append_pair(key, &value.to_string_lossy());
        }
        url.into()
    }

    /// The URL of the `postgres` database over the Unix socket (no TLS, superuser): for
    /// looking at the server from outside, e.g. `pg_stat_ssl`.
    pub fn socket_url(&self) -> String {
        let mut url = Url::parse(&format!(
            "postgres://postgres@localhost:{}/postgres",
            self.port
        ))
        .expect("a url built from a number parses");
        url.query_pairs_mut()
            .append_pair("host", &self.cluster.socket().to_string_lossy());
        url.into()
    }

    /// The CA that signed the server and client certificates (PEM).
    pub fn ca_cert(&self) -> PathBuf {
        self.files.join("ca.crt")
    }

    /// A CA that signed nothing the server presents (PEM): verifying against it must fail.
    pub fn wrong_ca_cert(&self) -> PathBuf {
        self.files.join("wrong-ca.crt")
    }

    /// The client certificate of [`CERT_USER`] (PEM), signed by [`ca_cert`](Self::ca_cert).
    pub fn client_cert(&self) -> PathBuf {
        self.files.join("client.crt")
    }

    /// The key of [`client_cert`](Self::client_cert): PEM, PKCS#8 (`BEGIN PRIVATE KEY`),
    /// the one form both rustls and native-tls read.
    pub fn client_key(&self) -> PathBuf {
        self.files.join("client.key")
    }

    /// The server version, if known.
    pub fn version(&self) -> Option<&str> {
        self.cluster.version()
    }

    /// The TLS cluster of this process, shared by its tests: started on first use from the
    /// server binaries [`find_bindir`](crate::find_bindir) finds, and removed when the process
    /// exits (see [`remove_when_process_exits`](Self::remove_when_process_exits)). Every
    /// later call gets the same cluster, or the same error.
    pub fn shared() -> std::result::Result<&'static TlsCluster, &'static Error> {
        static SHARED: OnceLock<Result<TlsCluster>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let bindir =
                    crate::find_bindir(|var| std::env::var(var).ok()).ok_or_else(|| {
                        Error::Spawn {
                            program: "initdb".to_owned(),
                            error: std::io::Error::new(
                                std::io::ErrorKind::NotFound,
                                "no PostgreSQL server binaries found (ORMKIT_PG_BINDIR, PATH, \
                             pg_config --bindir, /usr/lib/postgresql/<version>/bin)",
                            ),
                            hint: INSTALL_HINT,
                        }
                    })?;
                let mut cluster = TlsCluster::start(&bindir)?;
                cluster.remove_when_process_exits()?;
                Ok(cluster)
            })
            .as_ref()
    }

    /// Stops the cluster and deletes its directories when this process exits, even if this
    /// handle is never dropped (e.g. held in a `static` of a test binary).
    pub fn remove_when_process_exits(&mut self) -> Result<()> {
        self.cluster.remove_at_exit()
    }

    /// Stops the server and deletes its directories, reporting what could not be removed.
    pub fn close(mut self) -> Result<()> {
        self.cluster.shutdown()
    }

    fn create_cert_user(&self) -> Result<()> {
        let url = self.socket_url();
        let options = PgConnectOptions::from_str(&url).map_err(|err| Error::InvalidUrl {
            url: url.clone(),
            reason: err.to_string(),
        })?;
        let sql = format!("CREATE ROLE {CERT_USER} LOGIN CREATEDB");
        let result = block_on(|| async {
            let mut conn = connect(&options).await?;
            sqlx::raw_sql(&sql).execute(&mut conn).await.map(drop)
        })?;
        result.map_err(|error| Error::Database {
            action: format!("create role {CERT_USER}"),
            server: format!("the TLS throwaway cluster (port {})", self.port),
            error,
            hint: INSTALL_HINT,
        })
    }
}

impl fmt::Debug for TlsCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsCluster")
            .field("port", &self.port)
            .field("files", &self.files)
            .field("socket", &self.cluster.socket())
            .finish()
    }
}

/// A TCP port of 127.0.0.1 that nothing listens on right now (the OS's pick).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|err| Error::io("could not find a free port on 127.0.0.1", err))?;
    let port = listener
        .local_addr()
        .map_err(|err| Error::io("could not read the port picked on 127.0.0.1", err))?
        .port();
    Ok(port)
}

/// Writes the certificates, keys and `pg_hba.conf` into `dir` (readable by `account`, the
/// server key its own with mode 0600) and returns the server settings that use them.
fn write_files(dir: &Path, account: &ServerAccount) -> Result<Vec<String>> {
    let made = Certificates::make().map_err(|err| Error::Certificates {
        details: err.to_string(),
    })?;
    fs::create_dir(dir)
        .map_err(|err| Error::io(format!("could not create {}", dir.display()), err))?;
    set_mode(dir, 0o755)?;
    let files = [
        ("ca.crt", made.ca_cert.as_str(), 0o644),
        ("server.crt", made.server_cert.as_str(), 0o644),
        ("server.key", made.server_key.as_str(), 0o600),
        ("client.crt", made.client_cert.as_str(), 0o644),
        ("client.key", made.client_key.as_str(), 0o600),
        ("wrong-ca.crt", made.wrong_ca_cert.as_str(), 0o644),
        ("pg_hba.conf", PG_HBA, 0o644),
    ];
    for (name, text, mode) in files {
        let path = dir.join(name);
        fs::write(&path, text)
            .map_err(|err| Error::io(format!("could not write {}", path.display()), err))?;
        set_mode(&path, mode)?;
    }
    // The server reads its key only if it owns it (or root does, with mode 0640).
    account.chown(dir)?;
    for name in ["server.crt", "server.key", "ca.crt", "pg_hba.conf"] {
        account.chown(&dir.join(name))?;
    }
    let path = |name: &str| dir.join(name).display().to_string();
    Ok(vec![
        "ssl=on".to_owned(),
        format!("ssl_cert_file={}", path("server.crt")),
        format!("ssl_key_file={}", path("server.key")),
        format!("ssl_ca_file={}", path("ca.crt")),
        format!("hba_file={}", path("pg_hba.conf")),
    ])
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|err| {
        Error::io(
            format!("could not set mode {mode:o} on {}", path.display()),
            err,
        )
    })
}

/// The PEM texts of the test PKI.
struct Certificates {
    ca_cert: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    wrong_ca_cert: String,
}

impl Certificates {
    fn make() -> Result<Self, rcgen::Error> {
        let (ca, ca_key) = make_ca("ormkit test CA")?;
        let (wrong_ca, _) = make_ca("ormkit unrelated CA")?;

        let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
        server.distinguished_name = named("localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let server_key = KeyPair::generate()?;
        let server_cert = server.signed_by(&server_key, &ca, &ca_key)?;

        let mut client = CertificateParams::new(Vec::<String>::new())?;
        client.distinguished_name = named(CERT_USER);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let client_key = KeyPair::generate()?;
        let client_cert = client.signed_by(&client_key, &ca, &ca_key)?;

        Ok(Certificates {
            ca_cert: ca.pem(),
            server_cert: server_cert.pem(),
            server_key: server_key.serialize_pem(),
            client_cert: client_cert.pem(),
            client_key: client_key.serialize_pem(),
            wrong_ca_cert: wrong_ca.pem(),
        })
    }
}

/// A self-signed CA certificate named `name`, and its key.
fn make_ca(name: &str) -> Result<(Certificate, KeyPair), rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = named(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert, key))
}

fn named(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_pkcs8_pem_and_certificates_chain_to_the_ca() {
        let made = Certificates::make().unwrap();
        for key in [&made.server_key, &made.client_key] {
            assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        }
        for cert in [&made.ca_cert, &made.server_cert, &made.client_cert] {
            assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        }
        assert_ne!(made.ca_cert, made.wrong_ca_cert);
        assert!(PG_HBA.lines().all(|line| !line.starts_with("host ")));
    }
}
