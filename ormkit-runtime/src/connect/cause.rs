//! [`ConnectTarget`] and [`ConnectCause`]: where a connection was to go and why it could not
//! be made, read from sqlx's error by [`classify`] (I/O kinds, TLS libraries' messages, the
//! SQLSTATEs of a refusal).

use super::{CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use std::fmt;
use std::time::Duration;

/// What a connection attempt tried to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// `host:port`, or the Unix socket's path (`/run/postgresql/.s.PGSQL.5432`).
    pub address: String,
    /// The database asked for.
    pub database: String,
    /// The user (role) connecting.
    pub user: String,
    /// The `sslmode` in force (`prefer` unless the URL or `PGSSLMODE` says otherwise).
    pub sslmode: &'static str,
}

impl ConnectTarget {
    /// The target of `options` (which never includes its password).
    pub fn of(options: &PgConnectOptions) -> Self {
        let port = options.get_port();
        let address = match options.get_socket() {
            Some(dir) => dir.join(format!(".s.PGSQL.{port}")).display().to_string(),
            None => {
                let host = options.get_host();
                if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                }
            }
        };
        ConnectTarget {
            address,
            database: options
                .get_database()
                .unwrap_or(options.get_username())
                .to_owned(),
            user: options.get_username().to_owned(),
            sslmode: sslmode_name(options.get_ssl_mode()),
        }
    }
}

impl fmt::Display for ConnectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (database \"{}\", user \"{}\")",
            self.address, self.database, self.user
        )
    }
}

/// `createdb -h HOST -p PORT -U USER NAME`, each word quoted for a POSIX shell (and `--`
/// before a name that starts with `-`, so that it is not read as an option).
pub(crate) fn createdb_command(host: &str, port: u16, user: &str, database: &str) -> String {
    format!(
        "createdb -h {} -p {port} -U {} {}{}",
        shell_word(host),
        shell_word(user),
        if database.starts_with('-') { "-- " } else { "" },
        shell_word(database)
    )
}

/// `word` as one word of a POSIX shell command: as it is when it holds nothing a shell reads
/// specially, else in single quotes (an embedded `'` becomes `'\''`).
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn sslmode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// Which check a server certificate failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateCheck {
    /// It is not signed by a trusted CA (`sslrootcert`, or the built-in roots).
    UnknownIssuer,
    /// It does not name the host connected to (`verify-full`).
    HostNameMismatch,
    /// It has expired or is not valid yet.
    Expired,
    /// Another check (bad signature, revoked, unsupported…): the detail says which.
    Other,
}

impl fmt::Display for CertificateCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertificateCheck::UnknownIssuer => "unknown issuer",
            CertificateCheck::HostNameMismatch => "host name mismatch",
            CertificateCheck::Expired => "expired or not yet valid",
            CertificateCheck::Other => "rejected",
        })
    }
}

/// Why a connection could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectCause {
    /// Nothing listens on that port (the server is down, or on another port).
    Refused,
    /// No socket file at that path (the server is down, or uses another directory or port).
    NoSocket,
    /// The host name does not resolve.
    Unresolvable {
        /// The host name.
        host: String,
    },
    /// No answer within the connect timeout.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// `sslmode` requires TLS, and the server does not offer it.
    TlsUnsupported {
        /// The `sslmode` asked for.
        sslmode: &'static str,
    },
    /// The server refuses unencrypted connections (`pg_hba.conf` has only `hostssl` for
    /// this client), and `sslmode` let the connection go without TLS.
    EncryptionRequired {
        /// The `sslmode` asked for.
        sslmode: &'static str,
        /// The server's message.
        message: String,
    },
    /// The server's certificate failed verification.
    Certificate {
        /// Which check.
        check: CertificateCheck,
        /// The `sslmode` asked for.
        sslmode: &'static str,
        /// What the TLS library said.
        detail: String,
    },
    /// The TLS handshake failed otherwise (a client certificate, a protocol version…).
    Tls {
        /// What the TLS library said.
        detail: String,
    },
    /// The password was wrong (SQLSTATE 28P01).
    Password {
        /// The user.
        user: String,
    },
    /// The database does not exist (SQLSTATE 3D000). The message says how to create it:
    /// `createdb -h HOST -p PORT -U USER NAME`, or `CREATE DATABASE`.
    MissingDatabase {
        /// The database.
        database: String,
        /// The shell command that creates it on that server as that user
        /// (`createdb -h HOST -p PORT -U USER NAME`, each word quoted as a shell needs).
        createdb: String,
    },
    /// The server refused the connection otherwise: no `pg_hba.conf` entry, an unknown
    /// role, too many connections, starting up or shutting down…
    Rejected {
        /// The SQLSTATE.
        code: String,
        /// The server's message.
        message: String,
    },
    /// Another I/O failure.
    Io {
        /// What the system said.
        detail: String,
    },
    /// Anything else the driver reported.
    Other {
        /// What it said.
        detail: String,
    },
}

impl fmt::Display for ConnectCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectCause::Refused => f.write_str(
                "connection refused: nothing listens on that port (is PostgreSQL running, \
                 and on that host and port?)",
            ),
            ConnectCause::NoSocket => f.write_str(
                "no server socket at that path (is PostgreSQL running, with that socket \
                 directory and port?)",
            ),
            ConnectCause::Unresolvable { host } => {
                write!(f, "the host name \"{host}\" does not resolve (DNS)")
            }
            ConnectCause::TimedOut { after } => write!(
                f,
                "no answer within the connect timeout of {} ms (PoolConfig::connect_timeout, \
                 {CONNECT_TIMEOUT_ENV}); a firewall that drops packets, or a server too busy \
                 to answer",
                after.as_millis()
            ),
            ConnectCause::TlsUnsupported { sslmode } => write!(
                f,
                "sslmode={sslmode} requires TLS, but the server does not support TLS (turn \
                 ssl on in the server, or connect with sslmode=prefer or disable)"
            ),
            ConnectCause::EncryptionRequired { sslmode, message } => write!(
                f,
                "the server refuses connections without encryption ({message}); connect with \
                 sslmode=require, verify-ca or verify-full instead of sslmode={sslmode}"
            ),
            ConnectCause::Certificate {
                check,
                sslmode,
                detail,
            } => {
                write!(
                    f,
                    "the server's certificate failed verification under sslmode={sslmode}: \
                     {check} ({detail})"
                )?;
                match check {
                    CertificateCheck::UnknownIssuer => f.write_str(
                        "; give the CA that signed it with sslrootcert (or PGSSLROOTCERT)",
                    ),
                    CertificateCheck::HostNameMismatch => f.write_str(
                        "; connect with the host name the certificate names, or use \
                         sslmode=verify-ca to check the CA only",
                    ),
                    _ => Ok(()),
                }
            }
            ConnectCause::Tls { detail } => write!(f, "the TLS handshake failed: {detail}"),
            ConnectCause::Password { user } => write!(
                f,
                "password authentication failed for user \"{user}\" (check the password in \
                 the URL, PGPASSWORD or the password file)"
            ),
            ConnectCause::MissingDatabase { database, createdb } => write!(
                f,
                "database \"{database}\" does not exist; create it with `{createdb}` (or, \
                 connected to another database such as postgres, `CREATE DATABASE {};`), or \
                 fix the database name in the URL",
                ormkit_schema::quote_ident_if_needed(database),
            ),
            ConnectCause::Rejected { code, message } => {
                write!(f, "the server refused: {message} (SQLSTATE {code})")
            }
            ConnectCause::Io { detail } | ConnectCause::Other { detail } => f.write_str(detail),
        }
    }
}

impl ConnectCause {
    /// Whether trying again later may succeed: the server down or slow, or briefly refusing
    /// (too many connections, starting up). A wrong password, a missing database or a
    /// certificate problem stays.
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectCause::Refused
            | ConnectCause::NoSocket
            | ConnectCause::TimedOut { .. }
            | ConnectCause::Io { .. } => true,
            ConnectCause::Rejected { code, .. } => {
                matches!(code.as_str(), "53300" | "57P01" | "57P02" | "57P03")
            }
            _ => false,
        }
    }
}

/// Why `err`, returned while connecting with `options`, happened. The one place sqlx's
/// connect errors are read: I/O kinds, TLS messages, and the SQLSTATEs of a refusal.
pub fn classify(err: &sqlx::Error, options: &PgConnectOptions) -> ConnectCause {
    let sslmode = sslmode_name(options.get_ssl_mode());
    match err {
        sqlx::Error::Io(io) => classify_io(io, options),
        sqlx::Error::Tls(tls) => classify_tls(&tls.to_string(), sslmode),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message().to_owned();
            match code.as_str() {
                "28P01" => ConnectCause::Password {
                    user: options.get_username().to_owned(),
                },
                "3D000" => {
                    let database = ConnectTarget::of(options).database;
                    let host = match options.get_socket() {
                        Some(dir) => dir.display().to_string(),
                        None => options.get_host().to_owned(),
                    };
                    ConnectCause::MissingDatabase {
                        createdb: createdb_command(
                            &host,
                            options.get_port(),
                            options.get_username(),
                            &database,
                        ),
                        database,
                    }
                }
                // PostgreSQL 14+: "..., no encryption"; 12 and 13: "..., SSL off".
                "28000" if message.ends_with("no encryption") || message.ends_with("SSL off") => {
                    ConnectCause::EncryptionRequired { sslmode, message }
                }
                _ => ConnectCause::Rejected { code, message },
            }
        }
        sqlx::Error::PoolTimedOut => ConnectCause::TimedOut {
            after: DEFAULT_CONNECT_TIMEOUT,
        },
        other => ConnectCause::Other {
            detail: other.to_string(),
        },
    }
}

fn classify_io(io: &std::io::Error, options: &PgConnectOptions) -> ConnectCause {
    use std::io::ErrorKind;
    let detail = io.to_string();
    match io.kind() {
        ErrorKind::ConnectionRefused => ConnectCause::Refused,
        ErrorKind::NotFound if options.get_socket().is_some() => ConnectCause::NoSocket,
        _ if options.get_socket().is_none() && is_resolver_failure(&detail) => {
            ConnectCause::Unresolvable {
                host: options.get_host().to_owned(),
            }
        }
        // rustls reports its handshake failures (a certificate check among them) as I/O
        // errors carrying its own error.
        ErrorKind::InvalidData | ErrorKind::Other if looks_like_tls(&detail) => {
            classify_tls(&detail, sslmode_name(options.get_ssl_mode()))
        }
        ErrorKind::TimedOut => ConnectCause::Io {
            detail: format!("the connection timed out ({detail})"),
        },
        _ => ConnectCause::Io { detail },
    }
}

/// Whether an I/O error is the resolver's (`getaddrinfo`): std reports those with an
/// uncategorized kind, so only the text tells.
fn is_resolver_failure(detail: &str) -> bool {
    [
        "failed to lookup address",
        "Name or service not known",
        "No address associated with hostname",
        "nodename nor servname",
        "Temporary failure in name resolution",
        "No such host is known",
    ]
    .iter()
    .any(|needle| detail.contains(needle))
}

/// Whether an I/O error's text is a TLS library's.
fn looks_like_tls(detail: &str) -> bool {
    let lower = detail.to_lowercase();
    ["certificate", "tls", "ssl", "handshake", "fatal alert"]
        .iter()
        .any(|needle| lower.contains(needle))
}

/// A TLS failure by its text: rustls (`invalid peer certificate: UnknownIssuer`, `…
/// NotValidForName…`) and OpenSSL/native-tls (`unable to get local issuer certificate`,
/// `Hostname mismatch`) word the same checks differently.
fn classify_tls(detail: &str, sslmode: &'static str) -> ConnectCause {
    if detail.contains("server does not support TLS") {
        return ConnectCause::TlsUnsupported { sslmode };
    }
    let squashed: String = detail
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let has = |needles: &[&str]| needles.iter().any(|n| squashed.contains(n));
    let check = if has(&[
        "unknownissuer",
        "unabletogetlocalissuer",
        "selfsignedcertificate",
        "unknownca",
        "untrustedroot",
    ]) {
        CertificateCheck::UnknownIssuer
    } else if has(&["notvalidforname", "hostnamemismatch", "ipaddressmismatch"]) {
        CertificateCheck::HostNameMismatch
    } else if has(&["expired", "notvalidyet", "notyetvalid"]) {
        CertificateCheck::Expired
    } else if has(&["certificate"]) {
        CertificateCheck::Other
    } else {
        return ConnectCause::Tls {
            detail: detail.to_owned(),
        };
    };
    ConnectCause::Certificate {
        check,
        sslmode,
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr as _;

    fn options(url: &str) -> PgConnectOptions {
        PgConnectOptions::from_str(url).expect("test URL parses")
    }

    #[test]
    fn targets_name_the_address_never_the_password() {
        let tcp = ConnectTarget::of(&options("postgres://app:hunter2@db.example:6543/shop"));
        assert_eq!(tcp.address, "db.example:6543");
        assert_eq!(tcp.database, "shop");
        let shown = tcp.to_string();
        assert!(shown.contains("db.example:6543"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let socket = ConnectTarget::of(&options("postgres://app@%2Ftmp%2Fpg:5433/"));
        assert_eq!(socket.address, "/tmp/pg/.s.PGSQL.5433");
        assert_eq!(socket.database, "app", "no database: the user's name");
    }

    #[test]
    fn a_missing_database_says_how_to_create_it_quoted() {
        let plain = ConnectCause::MissingDatabase {
            database: "shop".into(),
            createdb: createdb_command("db.example", 6543, "app", "shop"),
        }
        .to_string();
        assert!(
            plain.contains("`createdb -h db.example -p 6543 -U app shop`"),
            "{plain}"
        );
        assert!(plain.contains("`CREATE DATABASE shop;`"), "{plain}");
        let name = "-x'; rm -rf ~ #\"";
        let hostile = ConnectCause::MissingDatabase {
            database: name.into(),
            createdb: createdb_command("/run/postgresql", 5432, "o'brien", name),
        }
        .to_string();
        assert!(
            hostile.contains(
                r#"`createdb -h /run/postgresql -p 5432 -U 'o'\''brien' -- '-x'\''; rm -rf ~ #"'`"#
            ),
            "{hostile}"
        );
        assert!(
            hostile.contains(r#"`CREATE DATABASE "-x'; rm -rf ~ #""";`"#),
            "{hostile}"
        );
    }

    #[test]
    fn tls_failures_name_the_check() {
        let cases = [
            (
                "invalid peer certificate: UnknownIssuer",
                CertificateCheck::UnknownIssuer,
            ),
            (
                "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate \
                 verify failed (unable to get local issuer certificate)",
                CertificateCheck::UnknownIssuer,
            ),
            (
                "invalid peer certificate: NotValidForName",
                CertificateCheck::HostNameMismatch,
            ),
            (
                "invalid peer certificate: certificate not valid for name \"db\"; certificate \
                 is only valid for DnsName(\"other\")",
                CertificateCheck::HostNameMismatch,
            ),
            (
                "certificate verify failed (Hostname mismatch)",
                CertificateCheck::HostNameMismatch,
            ),
            (
                "invalid peer certificate: Expired",
                CertificateCheck::Expired,
            ),
        ];
        for (detail, expected) in cases {
            let cause = classify_tls(detail, "verify-full");
            assert!(
                matches!(&cause, ConnectCause::Certificate { check, .. } if *check == expected),
                "{detail}: {cause:?}"
            );
            let shown = cause.to_string();
            assert!(shown.contains("certificate"), "{shown}");
            assert!(shown.contains(&expected.to_string()), "{shown}");
        }
        let wrapped = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        ));
        let cause = classify(
            &wrapped,
            &options("postgres://u@db:5432/app?sslmode=verify-full"),
        );
        assert!(
            matches!(
                cause,
                ConnectCause::Certificate {
                    check: CertificateCheck::UnknownIssuer,
                    sslmode: "verify-full",
                    ..
                }
            ),
            "{cause:?}"
        );
        let unsupported = classify_tls("server does not support TLS", "require").to_string();
        assert!(unsupported.contains("sslmode=require"), "{unsupported}");
        assert!(
            unsupported.contains("does not support TLS"),
            "{unsupported}"
        );
        assert!(matches!(
            classify_tls("received fatal alert: HandshakeFailure", "require"),
            ConnectCause::Tls { .. }
        ));
    }
}
