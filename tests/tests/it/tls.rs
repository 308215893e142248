//! TLS on a real server: a throwaway cluster with `ssl = on`, a test CA and a `pg_hba.conf`
//! that admits TCP clients only over TLS (`hostssl`), one role only by client certificate.
//! Each test passes under either TLS feature (`tls-rustls`, `tls-native-tls`).
//!
//! Any connection that succeeds over TCP here is TLS (the server has no `host` line); the
//! tests also read `pg_stat_ssl` for the connections they can see.

use std::path::{Path, PathBuf};

use ormkit::cache::{EntityCache, InvalidationStrategy};
use ormkit::sqlx::{self, PgPool};
use ormkit::{Migrator, Repository};
use ormkit_build_support::{ScratchDatabase, ScratchPlan, TlsCluster, CERT_USER};
use ormkit_tests::entities::{self, NewUser, User, UserPatch};

/// The TLS cluster of this test binary, started once, removed when the process exits.
fn cluster() -> &'static TlsCluster {
    TlsCluster::shared().unwrap_or_else(|err| panic!("the TLS tests' cluster: {err}"))
}

/// `postgres://{user}@{host}:{port}/{database}?{params}` on the TLS cluster.
fn url(host: &str, user: &str, database: &str, params: &[(&str, &Path)]) -> String {
    cluster().url_with(host, user, database, params)
}

/// `sslmode=verify-full` with the right CA, as the superuser, on `host=localhost`.
fn verify_full(database: &str) -> String {
    let ca = cluster().ca_cert();
    url(
        "localhost",
        "postgres",
        database,
        &[("sslmode", Path::new("verify-full")), ("sslrootcert", &ca)],
    )
}

/// `verify-full` as [`CERT_USER`], who logs in by client certificate.
fn with_client_cert(database: &str) -> String {
    let cluster = cluster();
    let (ca, cert, key) = (
        cluster.ca_cert(),
        cluster.client_cert(),
        cluster.client_key(),
    );
    url(
        "localhost",
        CERT_USER,
        database,
        &[
            ("sslmode", Path::new("verify-full")),
            ("sslrootcert", &ca),
            ("sslcert", &cert),
            ("sslkey", &key),
        ],
    )
}

/// Whether this connection of `pool` is encrypted, per the server.
async fn pool_uses_tls(pool: &PgPool) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(pool)
            .await?,
    )
}

/// `(application_name, ssl)` of every client connection to `database`, seen from the socket.
async fn sessions_on(database: &str) -> anyhow::Result<Vec<(String, bool)>> {
    let admin = PgPool::connect(&cluster().socket_url()).await?;
    let rows = sqlx::query_as(
        "SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.datname = $1 AND a.backend_type = 'client backend' ORDER BY 1",
    )
    .bind(database)
    .fetch_all(&admin)
    .await?;
    admin.close().await;
    Ok(rows)
}

fn database_name(scratch: &ScratchDatabase) -> anyhow::Result<String> {
    let parsed = url::Url::parse(scratch.url())?;
    Ok(parsed.path().trim_start_matches('/').to_owned())
}

fn karma(user: &User, value: i32) -> UserPatch {
    let mut patch = UserPatch::new(user.id);
    patch.karma = Some(Some(value));
    patch
}

/// `verify-full` with the right CA: build-support's temporary database on the server URL
/// (its rewritten URL keeps the TLS parameters), the pool, the Migrator, the cache's
/// `LISTEN` connection and the cluster's probes all work, and the server lists every open
/// connection as TLS.
#[tokio::test]
async fn verify_full_carries_the_pool_the_migrator_and_cache_invalidation() -> anyhow::Result<()> {
    let scratch = ScratchDatabase::on_server(&verify_full("postgres"))?;
    for kept in ["sslmode=verify-full", "sslrootcert="] {
        assert!(
            scratch.url().contains(kept),
            "{kept} lost: {}",
            scratch.url()
        );
    }
    let database = database_name(&scratch)?;

    let pool = ormkit::create_smart_pool(scratch.url()).await?;
    let report = Migrator::new(&pool, entities::MIGRATIONS)
        .migrate_up()
        .await?;
    assert_eq!(report.steps.len(), entities::MIGRATIONS.len());
    // The Migrator's own sessions from a direct URL with the TLS settings.
    let status = Migrator::new(&pool, entities::MIGRATIONS)
        .direct_url(scratch.url())
        .status()
        .await?;
    assert!(status.is_up_to_date(), "{status}");
    assert!(pool_uses_tls(&pool).await?);

    // Two application instances; B's cached row is invalidated by A's write, which B hears
    // on its own LISTEN connection.
    let other = ormkit::create_smart_pool(scratch.url()).await?;
    let cache = |name: &'static str| {
        EntityCache::builder()
            .strategy(InvalidationStrategy::strong().heartbeat(None))
            .application_name(name)
            .entity::<User>()
    };
    let cache_a = cache("ormkit_tls_listener_a").build(&pool).await?;
    // B's listener connects through a direct URL (as behind a transaction-mode pooler).
    let cache_b = cache("ormkit_tls_listener_b")
        .direct_url(scratch.url())
        .build(&other)
        .await?;
    let ada = Repository::<User>::new(&pool)
        .insert(NewUser::new("ada@tls.io".into()))
        .await?;
    let users_b = cache_b.repository::<User>(&other);
    assert_eq!(users_b.get(ada.id).await?.karma, ada.karma);
    cache_a
        .repository::<User>(&pool)
        .update(karma(&ada, 42))
        .await?;
    cache_b.sync().await?;
    assert_eq!(
        users_b.get(ada.id).await?.karma,
        Some(42),
        "B still serves the old row"
    );
    assert!(cache_b.stats().invalidations >= 1);

    // The cluster's probes open connections of their own from the pools' options (the
    // "replica" here is the primary itself: probed, if never healthy).
    let cluster = ormkit::Cluster::builder(pool.clone())
        .replica(other.clone())
        .build()
        .await?;

    let sessions = sessions_on(&database).await?;
    assert!(sessions.iter().all(|(_, ssl)| *ssl), "{sessions:?}");
    let probes = sessions
        .iter()
        .filter(|(name, _)| name == "ormkit_cluster_monitor")
        .count();
    assert_eq!(
        probes, 2,
        "a probe each for the primary and the replica: {sessions:?}"
    );
    drop(cluster);
    for listener in ["ormkit_tls_listener_a", "ormkit_tls_listener_b"] {
        assert!(
            sessions.iter().any(|(name, _)| name == listener),
            "{listener} not connected: {sessions:?}"
        );
    }
    drop((cache_a, cache_b));
    pool.close().await;
    other.close().await;
    scratch.close()?;
    Ok(())
}

/// A CA that did not sign the server's certificate is refused, naming the certificate.
#[tokio::test]
async fn a_wrong_ca_is_refused() -> anyhow::Result<()> {
    let wrong = cluster().wrong_ca_cert();
    let url = url(
        "localhost",
        "postgres",
        "postgres",
        &[
            ("sslmode", Path::new("verify-full")),
            ("sslrootcert", &wrong),
        ],
    );
    let err = ormkit::create_smart_pool(&url)
        .await
        .expect_err("a certificate from an unknown CA was accepted");
    let message = err.to_string();
    assert!(message.contains("certificate"), "{message}");
    Ok(())
}

/// The certificate names `localhost`: `host=127.0.0.1` is refused under `verify-full` and
/// accepted under `verify-ca` (which checks the chain, not the name).
///
/// Except with rustls: sqlx 0.8.6's `verify-ca` verifier forgives only rustls's old
/// name-mismatch error, and rustls 0.23.24 and later report a mismatch with a new one
/// (`NotValidForNameContext`; sqlx issue 3793, fixed in sqlx 0.9), so `verify-ca` there still
/// checks the name: it fails closed, as `verify-full` does. This test pins that, so it fails
/// (and is to be flipped) the day the verifier forgives the mismatch.
#[tokio::test]
async fn a_host_name_mismatch_fails_verify_full_and_verify_ca_checks_the_chain(
) -> anyhow::Result<()> {
    let ca = cluster().ca_cert();
    let by_address = |mode: &'static str| {
        url(
            "127.0.0.1",
            "postgres",
            "postgres",
            &[("sslmode", Path::new(mode)), ("sslrootcert", &ca)],
        )
    };
    let err = ormkit::create_smart_pool(&by_address("verify-full"))
        .await
        .expect_err("a certificate for localhost was accepted for 127.0.0.1");
    let message = err.to_string();
    assert!(message.contains("certificate"), "{message}");

    let verify_ca = ormkit::create_smart_pool(&by_address("verify-ca")).await;
    // sqlx uses native-tls when both features are on.
    if cfg!(all(feature = "tls-rustls", not(feature = "tls-native-tls"))) {
        let message = verify_ca
            .expect_err("rustls's verify-ca forgave the name: flip this test")
            .to_string();
        assert!(
            message.contains("certificate not valid for name"),
            "{message}"
        );
    } else {
        let pool = verify_ca?;
        assert!(pool_uses_tls(&pool).await?);
        pool.close().await;
    }
    // The chain is still checked under verify-ca: a wrong CA fails it.
    let wrong = cluster().wrong_ca_cert();
    let wrong_ca = url(
        "127.0.0.1",
        "postgres",
        "postgres",
        &[("sslmode", Path::new("verify-ca")), ("sslrootcert", &wrong)],
    );
    let err = ormkit::create_smart_pool(&wrong_ca)
        .await
        .expect_err("verify-ca accepted a certificate from an unknown CA");
    let message = err.to_string();
    assert!(message.contains("certificate"), "{message}");
    Ok(())
}

/// `sslmode=disable` against a server that admits TCP only over TLS: refused, and the
/// message names `sslmode`. `allow` (which sqlx 0.8 alone would treat as `disable`),
/// `prefer` and `require` all end up on TLS.
#[tokio::test]
async fn sslmode_disable_is_refused_and_the_other_modes_use_tls() -> anyhow::Result<()> {
    for mode in ["allow", "prefer", "require"] {
        let url = url(
            "127.0.0.1",
            "postgres",
            "postgres",
            &[("sslmode", Path::new(mode))],
        );
        let pool = ormkit::create_smart_pool(&url).await?;
        assert!(pool_uses_tls(&pool).await?, "sslmode={mode} is not on TLS");
        pool.close().await;
    }

    let plain = url(
        "localhost",
        "postgres",
        "postgres",
        &[("sslmode", Path::new("disable"))],
    );
    let err = ormkit::create_smart_pool(&plain)
        .await
        .expect_err("a plain connection was admitted by a hostssl-only server");
    let message = err.to_string();
    assert!(message.contains("sslmode"), "{message}");
    Ok(())
}

/// The `cert` user logs in with its client certificate (`sslcert`, `sslkey`), and is turned
/// away without it.
#[tokio::test]
async fn client_certificate_authentication() -> anyhow::Result<()> {
    let pool = ormkit::create_smart_pool(&with_client_cert("postgres")).await?;
    let (user, ssl, client_dn): (String, bool, Option<String>) = sqlx::query_as(
        "SELECT current_user::text, ssl, client_dn FROM pg_stat_ssl \
         WHERE pid = pg_backend_pid()",
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(user, CERT_USER);
    assert!(ssl);
    assert_eq!(client_dn.as_deref(), Some(&*format!("/CN={CERT_USER}")));
    pool.close().await;

    let ca = cluster().ca_cert();
    let without = url(
        "localhost",
        CERT_USER,
        "postgres",
        &[("sslmode", Path::new("verify-full")), ("sslrootcert", &ca)],
    );
    let err = ormkit::create_smart_pool(&without)
        .await
        .expect_err("the cert user got in without a certificate");
    let message = err.to_string();
    assert!(message.contains("certificate"), "{message}");
    Ok(())
}

/// A code generation (what a build script runs) with the TLS server as the scratch server:
/// the temporary database is created and used over `verify-full`, as the cert user.
#[test]
fn codegen_runs_against_the_tls_server() -> anyhow::Result<()> {
    use ormkit_codegen::{Config, Source};
    let project = tempfile::tempdir()?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or_else(|| anyhow::anyhow!("tests/ has no parent"))?;
    for dir in ["migrations", "queries"] {
        copy_dir(&repo.join(dir), &project.path().join(dir))?;
    }
    std::fs::copy(repo.join("schema.lock"), project.path().join("schema.lock"))?;
    let out = tempfile::tempdir()?;
    let generated = Config::new()
        .manifest_dir(project.path())
        .out_dir(out.path())
        .cargo_directives(false)
        .scratch_plan(ScratchPlan::Server {
            url: with_client_cert("postgres"),
        })
        .generate()?;
    assert!(
        matches!(generated.source, Source::Database(_)),
        "{:?}",
        generated.source
    );
    // The database gave the committed lock, byte for byte.
    assert_eq!(
        std::fs::read(project.path().join("schema.lock"))?,
        std::fs::read(repo.join("schema.lock"))?
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `#[ormkit::test]` on a `DATABASE_URL` with TLS parameters: its test databases are made
/// and used over TLS. Runs in a child process of this binary (the environment is global).
#[test]
fn ormkit_test_uses_the_tls_settings_of_database_url() -> anyhow::Result<()> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "tls::ormkit_test_body_over_tls",
            "--ignored",
            "--test-threads=1",
        ])
        .env("DATABASE_URL", verify_full("postgres"))
        .env("ORMKIT_TLS_CHILD", "1")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
    Ok(())
}

/// Run only by [`ormkit_test_uses_the_tls_settings_of_database_url`].
#[ormkit::test]
#[ignore = "run by ormkit_test_uses_the_tls_settings_of_database_url with a TLS DATABASE_URL"]
async fn ormkit_test_body_over_tls(pool: PgPool) -> anyhow::Result<()> {
    anyhow::ensure!(
        std::env::var_os("ORMKIT_TLS_CHILD").is_some(),
        "run through ormkit_test_uses_the_tls_settings_of_database_url"
    );
    assert!(pool_uses_tls(&pool).await?);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await?;
    assert_eq!(users, 0, "a fresh migrated database");
    Ok(())
}

/// The client key's format. PKCS#8 (`BEGIN PRIVATE KEY`, what the other tests use) works
/// with both TLS features. A "traditional" key — SEC1 `BEGIN EC PRIVATE KEY` here (what
/// `openssl ecparam -genkey` writes), PKCS#1 `BEGIN RSA PRIVATE KEY` alike — works with
/// rustls only: native-tls reads PKCS#8 alone and refuses any other key, saying so.
#[cfg_attr(
    ormkit_no_openssl,
    ignore = "needs the openssl command, not found: apt-get install openssl"
)]
#[tokio::test]
async fn a_traditional_client_key_works_with_rustls_and_native_tls_asks_for_pkcs8(
) -> anyhow::Result<()> {
    let cluster = cluster();
    let dir = tempfile::tempdir()?;
    let sec1 = dir.path().join("client-sec1.key");
    let converted = std::process::Command::new("openssl")
        .args(["pkey", "-traditional", "-in"])
        .arg(cluster.client_key())
        .arg("-out")
        .arg(&sec1)
        .output()?;
    anyhow::ensure!(
        converted.status.success(),
        "openssl pkey -traditional failed: {}",
        String::from_utf8_lossy(&converted.stderr)
    );
    anyhow::ensure!(std::fs::read_to_string(&sec1)?.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let (ca, cert) = (cluster.ca_cert(), cluster.client_cert());
    let url = url(
        "localhost",
        CERT_USER,
        "postgres",
        &[
            ("sslmode", Path::new("verify-full")),
            ("sslrootcert", &ca),
            ("sslcert", &cert),
            ("sslkey", &sec1),
        ],
    );
    let connected = ormkit::create_smart_pool(&url).await;
    // sqlx uses native-tls when both features are on.
    if cfg!(all(feature = "tls-rustls", not(feature = "tls-native-tls"))) {
        let pool = connected?;
        assert!(pool_uses_tls(&pool).await?);
        pool.close().await;
    } else {
        let message = connected
            .expect_err("native-tls read a SEC1 key: update the README's TLS section")
            .to_string();
        assert!(message.contains("PKCS#8"), "{message}");
    }
    Ok(())
}
