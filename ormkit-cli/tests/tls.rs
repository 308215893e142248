//! `ormkit-cli` over TLS, on a throwaway cluster with `ssl = on`, a test CA and a
//! `pg_hba.conf` that admits TCP clients only over TLS: settings from the URL and from the
//! `PGSSL*` variables (set in the child process only), client certificates, refusals.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use ormkit_build_support::{ScratchDatabase, TlsCluster, CERT_USER};
use support::*;

/// The variables libpq (and sqlx) read TLS settings from.
const PGSSL_VARS: [&str; 4] = ["PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"];

fn cluster() -> &'static TlsCluster {
    TlsCluster::shared().unwrap_or_else(|err| panic!("the TLS tests' cluster: {err}"))
}

/// A URL on the TLS cluster with `params` as its query.
fn url(user: &str, database: &str, params: &[(&str, &Path)]) -> String {
    cluster().url_with("localhost", user, database, params)
}

fn verify_full(user: &str, database: &str) -> String {
    let ca = cluster().ca_cert();
    url(
        user,
        database,
        &[("sslmode", Path::new("verify-full")), ("sslrootcert", &ca)],
    )
}

/// `ormkit-cli` without any `PGSSL*` variable of this process.
fn tls_cli(dir: &Path) -> Command {
    let mut cmd = cli(dir);
    for var in PGSSL_VARS {
        cmd.env_remove(var);
    }
    cmd
}

fn database_name(db: &ScratchDatabase) -> String {
    let parsed = url::Url::parse(db.url()).expect("a scratch url parses");
    parsed.path().trim_start_matches('/').to_owned()
}

fn succeeded(output: &Output) {
    assert!(output.status.success(), "{}", text(output));
}

/// `migrate up`, `migrate status` and `validate` with a `verify-full` URL, and `generate`
/// with the TLS server as the scratch server.
#[test]
fn migrate_validate_and_generate_over_verify_full() {
    let project = project();
    let dir = project.path();
    let db = ScratchDatabase::on_server(&verify_full("postgres", "postgres")).unwrap();
    for command in [
        &["migrate", "up"][..],
        &["migrate", "status"],
        &["validate"],
    ] {
        let output = tls_cli(dir)
            .args(command)
            .args(["--database-url", db.url()])
            .output()
            .unwrap();
        succeeded(&output);
    }

    let out = tempfile::tempdir().unwrap();
    let output = tls_cli(dir)
        .args(["generate", "--out"])
        .arg(out.path())
        .env("ORMKIT_SCRATCH_URL", verify_full("postgres", "postgres"))
        .output()
        .unwrap();
    succeeded(&output);
    assert_eq!(
        std::fs::read(out.path().join("schema.lock")).unwrap(),
        std::fs::read(repo().join("schema.lock")).unwrap()
    );
}

/// A URL without TLS parameters plus `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT` and
/// `PGSSLKEY`: the `cert` user gets in by its client certificate. With `PGSSLROOTCERT` naming
/// the wrong CA, the CLI fails to connect (exit 3) and names the certificate.
#[test]
fn pgssl_variables_carry_verification_and_the_client_certificate() {
    let project = project();
    let dir = project.path();
    let cluster = cluster();
    let (ca, cert, key) = (
        cluster.ca_cert(),
        cluster.client_cert(),
        cluster.client_key(),
    );
    // The database is the cert user's own (made over TLS with its certificate in the URL).
    let db = ScratchDatabase::on_server(&url(
        CERT_USER,
        "postgres",
        &[
            ("sslmode", Path::new("verify-full")),
            ("sslrootcert", &ca),
            ("sslcert", &cert),
            ("sslkey", &key),
        ],
    ))
    .unwrap();
    let bare = cluster.url("localhost", CERT_USER, &database_name(&db));
    let with_vars = |root: &Path| {
        let mut cmd = tls_cli(dir);
        cmd.env("PGSSLMODE", "verify-full")
            .env("PGSSLROOTCERT", root)
            .env("PGSSLCERT", &cert)
            .env("PGSSLKEY", &key);
        cmd
    };
    for command in [&["migrate", "up"][..], &["migrate", "status"]] {
        let output = with_vars(&ca)
            .args(command)
            .args(["--database-url", &bare])
            .output()
            .unwrap();
        succeeded(&output);
    }

    let output = with_vars(&cluster.wrong_ca_cert())
        .args(["migrate", "status", "--database-url", &bare])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(text(&output).contains("certificate"), "{}", text(&output));

    // Without its certificate the cert user is turned away.
    let output = tls_cli(dir)
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &ca)
        .args(["migrate", "status", "--database-url", &bare])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(text(&output).contains("certificate"), "{}", text(&output));
}

/// `sslmode=disable` against a server that admits TCP only over TLS: exit 3, and the
/// message names `sslmode`. `PGSSLMODE=allow` gets in (over TLS, the only way in).
#[test]
fn sslmode_disable_is_refused_naming_sslmode() {
    let project = project();
    let db = ScratchDatabase::on_server(&verify_full("postgres", "postgres")).unwrap();
    let bare = cluster().url("localhost", "postgres", &database_name(&db));
    let output = tls_cli(project.path())
        .env("PGSSLMODE", "allow")
        .args(["migrate", "up", "--database-url", &bare])
        .output()
        .unwrap();
    succeeded(&output);

    let plain = url("postgres", "postgres", &[("sslmode", Path::new("disable"))]);
    let output = tls_cli(project.path())
        .args(["migrate", "status", "--database-url", &plain])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(text(&output).contains("sslmode"), "{}", text(&output));
}
