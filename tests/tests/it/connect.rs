//! An unreachable server fails fast, with its cause: refused, unresolvable, TLS mismatch,
//! a certificate that fails verification, a wrong password and a missing database each end
//! in `OrmkitError::Connect` naming `host:port` (or the socket path) and the cause, never
//! the password, from one attempt under the connect timeout, not after the pool's acquire
//! timeout. An exhausted pool still says that it is exhausted. All against real servers on
//! loopback or Unix sockets.

use ormkit::connect::{ConnectCause, ConnectTarget};
use ormkit::sqlx::{Connection as _, PgPool};
use ormkit::{OrmkitError, PoolConfig, Repository};
use ormkit_build_support::{ScratchDatabase, ScratchPlan};
use ormkit_tests::entities::*;
use ormkit_tests::fault::FaultProxy;
use ormkit_tests::support::TestDb;
use std::time::{Duration, Instant};

/// An acquire timeout far above the connect timeout: an error that only sqlx's pool could
/// produce (`PoolTimedOut` after retrying a refused port) would come as a timeout of this
/// length, never as the cause these tests expect.
const LONG_ACQUIRE: Duration = Duration::from_secs(60);

fn config() -> PoolConfig {
    PoolConfig {
        max_connections: 2,
        min_connections: 0,
        acquire_timeout: LONG_ACQUIRE,
        ..PoolConfig::default()
    }
}

/// A loopback port nothing listens on: bound, then let go.
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let port = listener.local_addr().expect("a bound port").port();
    drop(listener);
    port
}

/// The scratch PostgreSQL the tests use (a temporary database on `DATABASE_URL`'s server,
/// or a throwaway cluster).
fn scratch() -> anyhow::Result<ScratchDatabase> {
    let plan = ScratchPlan::from_env();
    ScratchDatabase::start(&plan)?.ok_or_else(|| anyhow::anyhow!("tests need PostgreSQL: {plan}"))
}

/// A throwaway cluster of this test's own (Unix socket only, no TLS), whatever the
/// environment says: for changing its `pg_hba.conf`.
fn own_cluster() -> anyhow::Result<ScratchDatabase> {
    let bindir = ormkit_build_support::find_bindir(|v| std::env::var(v).ok())
        .ok_or_else(|| anyhow::anyhow!("this test needs PostgreSQL's server binaries"))?;
    Ok(ScratchDatabase::local_cluster(&bindir, None)?)
}

/// `url` changed by `edit`.
fn edited(url: &str, edit: impl FnOnce(&mut url::Url)) -> String {
    let mut parsed = url::Url::parse(url).expect("scratch URLs parse");
    edit(&mut parsed);
    parsed.into()
}

/// The pool's error, timed for the log (no assertion is made on the time).
async fn pool_error(what: &str, url: &str, config: &PoolConfig) -> OrmkitError {
    let started = Instant::now();
    let result = ormkit::create_smart_pool_with(url, config).await;
    let err = match result {
        Ok(_) => panic!("{what}: a pool on {url} was built"),
        Err(err) => err,
    };
    eprintln!("{what}: failed after {:?}: {err}", started.elapsed());
    err
}

/// The cause of a connect error, after checking what every one of them shows.
fn cause_of<'e>(err: &'e OrmkitError, address: &str, secret: Option<&str>) -> &'e ConnectCause {
    let shown = err.to_string();
    let debug = format!("{err:?}");
    assert!(shown.contains(address), "names {address}: {shown}");
    if let Some(secret) = secret {
        assert!(!shown.contains(secret), "shows the password: {shown}");
        assert!(!debug.contains(secret), "shows the password: {debug}");
        let pretty = format!("{err:#?}");
        assert!(!pretty.contains(secret), "shows the password: {pretty}");
    }
    assert_eq!(err.category(), ormkit::ErrorCategory::Connection, "{err}");
    match err {
        OrmkitError::Connect { target, cause, .. } => {
            assert_eq!(target.address, address, "{err}");
            cause
        }
        other => panic!("expected OrmkitError::Connect, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_port_fails_at_once_naming_host_port() {
    let port = refused_port();
    let url = format!("postgres://app:s3cret-pw@127.0.0.1:{port}/shop");
    let err = pool_error("refused", &url, &config()).await;
    let address = format!("127.0.0.1:{port}");
    let cause = cause_of(&err, &address, Some("s3cret-pw"));
    assert_eq!(cause, &ConnectCause::Refused, "{err}");
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert!(
        err.is_retryable(),
        "a server that is down may come up: {err}"
    );
    assert!(
        !matches!(err, OrmkitError::PoolExhausted { .. }),
        "not an exhausted pool: {err}"
    );
}

#[tokio::test]
async fn an_unresolvable_host_fails_naming_the_host() {
    let url = "postgres://app:s3cret-pw@nosuch.invalid:5432/shop";
    let err = pool_error("unresolvable", url, &config()).await;
    let cause = cause_of(&err, "nosuch.invalid:5432", Some("s3cret-pw"));
    assert_eq!(
        cause,
        &ConnectCause::Unresolvable {
            host: "nosuch.invalid".into()
        },
        "{err}"
    );
    assert!(err.to_string().contains("does not resolve"), "{err}");
}

#[tokio::test]
async fn a_missing_database_is_named_with_a_hint() -> anyhow::Result<()> {
    let scratch = scratch()?;
    let url = edited(scratch.url(), |u| u.set_path("/ormkit_no_such_database"));
    let options: ormkit::sqlx::postgres::PgConnectOptions = url.parse()?;
    let target = ConnectTarget::of(&options);
    let host = match options.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let (port, user) = (options.get_port(), options.get_username().to_owned());
    let createdb = format!("createdb -h {host} -p {port} -U {user} ormkit_no_such_database");
    let err = pool_error("missing database", &url, &config()).await;
    let cause = cause_of(&err, &target.address, None);
    assert_eq!(
        cause,
        &ConnectCause::MissingDatabase {
            database: "ormkit_no_such_database".into(),
            createdb: createdb.clone(),
        },
        "{err}"
    );
    // `main() -> Result<(), Box<dyn Error>>` prints `Debug`: it must read as well as `Display`.
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    for shown in [boxed.to_string(), format!("{boxed:?}")] {
        assert!(
            shown.contains("\"ormkit_no_such_database\" does not exist"),
            "{shown}"
        );
        assert!(shown.contains(&createdb), "{shown}");
        assert!(
            shown.contains("CREATE DATABASE ormkit_no_such_database"),
            "{shown}"
        );
        assert!(!shown.contains("PgDatabaseError {"), "{shown}");
    }
    let debug = format!("{boxed:?}");
    assert!(debug.starts_with(&boxed.to_string()), "{debug}");
    assert!(debug.contains("\n\nCaused by:\n"), "{debug}");
    // `{:#?}` keeps the driver's fields for whoever wants them.
    let pretty = format!("{boxed:#?}");
    assert!(pretty.contains("PgDatabaseError {"), "{pretty}");
    assert!(pretty.contains("3D000"), "{pretty}");
    let err = boxed.downcast::<OrmkitError>().expect("an OrmkitError");
    assert_eq!(err.sqlstate().as_deref(), Some("3D000"));
    assert!(!err.is_retryable(), "{err}");
    Ok(())
}

/// A cluster whose `pg_hba.conf` asks every user but the superuser for a password, with a
/// role `ormkit_pw_user` whose password is `right-pw`: its URL for that role.
async fn password_cluster(cluster: &ScratchDatabase) -> anyhow::Result<String> {
    let mut admin = ormkit::sqlx::PgConnection::connect(cluster.url()).await?;
    let hba: String =
        ormkit::sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = 'hba_file'")
            .fetch_one(&mut admin)
            .await?;
    let superuser: String = ormkit::sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut admin)
        .await?;
    ormkit::sqlx::raw_sql("CREATE ROLE ormkit_pw_user LOGIN PASSWORD 'right-pw'")
        .execute(&mut admin)
        .await?;
    // md5 also checks a SCRAM-stored password; it works on every supported version.
    let rules = format!(
        "COPY (VALUES ('local all \"{superuser}\" trust'), ('local all all md5')) TO '{}'",
        hba.replace('\'', "''")
    );
    ormkit::sqlx::raw_sql(&rules).execute(&mut admin).await?;
    ormkit::sqlx::raw_sql("SELECT pg_reload_conf()")
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let url = edited(cluster.url(), |u| {
        u.set_username("ormkit_pw_user").expect("a URL with a host");
    });
    // The postmaster reloads on its own time: until a wrong password is refused, the old
    // `trust` rules are still in force (bounded: 200 tries, 25 ms apart).
    let wrong = edited(&url, |u| {
        u.set_password(Some("not-it")).expect("a URL with a host");
    });
    for _ in 0..200 {
        match ormkit::sqlx::PgConnection::connect(&wrong).await {
            Ok(conn) => {
                conn.close().await?;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(_) => return Ok(url),
        }
    }
    anyhow::bail!("the cluster never applied the password rules of {hba}")
}

#[tokio::test]
async fn a_wrong_password_fails_without_showing_it() -> anyhow::Result<()> {
    let cluster = own_cluster()?;
    let url = password_cluster(&cluster).await?;
    let target = ConnectTarget::of(&url.parse()?);
    let wrong = edited(&url, |u| {
        u.set_password(Some("Wr0ng-Secret"))
            .expect("a URL with a host");
    });
    let err = pool_error("wrong password", &wrong, &config()).await;
    let cause = cause_of(&err, &target.address, Some("Wr0ng-Secret"));
    assert_eq!(
        cause,
        &ConnectCause::Password {
            user: "ormkit_pw_user".into()
        },
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("password authentication failed for user \"ormkit_pw_user\""),
        "{err}"
    );
    assert!(!err.is_retryable(), "{err}");

    // The right password gets in: the failure was the password's, nothing else's.
    let right = edited(&url, |u| {
        u.set_password(Some("right-pw")).expect("a URL with a host");
    });
    let pool = ormkit::create_smart_pool_with(&right, &config()).await?;
    let one: i32 = ormkit::sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await?;
    assert_eq!(one, 1);
    pool.close().await;
    Ok(())
}

#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_names_sslmode() -> anyhow::Result<()> {
    // A throwaway cluster listens on a Unix socket only, where PostgreSQL offers no TLS.
    let cluster = own_cluster()?;
    let url = edited(cluster.url(), |u| {
        u.query_pairs_mut().append_pair("sslmode", "require");
    });
    let target = ConnectTarget::of(&url.parse()?);
    assert!(target.address.ends_with("/.s.PGSQL.5432"), "{target}");
    let err = pool_error("sslmode=require without TLS", &url, &config()).await;
    let cause = cause_of(&err, &target.address, None);
    assert_eq!(
        cause,
        &ConnectCause::TlsUnsupported { sslmode: "require" },
        "{err}"
    );
    let shown = err.to_string();
    assert!(shown.contains("sslmode=require"), "{shown}");
    assert!(shown.contains("does not support TLS"), "{shown}");
    // The same server without the demand lets us in.
    let pool = ormkit::create_smart_pool_with(cluster.url(), &config()).await?;
    pool.close().await;
    Ok(())
}

/// `verify-full` against `DATABASE_URL`'s server, whose certificate (the machine's
/// self-signed "snakeoil" one in CI) no trusted CA signed. Needs a TCP server with TLS on:
/// without `DATABASE_URL` (throwaway clusters have no TCP port) the test says so and
/// checks nothing; the TLS tests cover certificates on clusters of their own.
#[tokio::test]
async fn a_certificate_no_trusted_ca_signed_names_the_check() -> anyhow::Result<()> {
    let Some(server) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("no DATABASE_URL: no TCP server with TLS to check a certificate against");
        return Ok(());
    };
    let mut admin = ormkit::sqlx::PgConnection::connect(&server).await?;
    let ssl: String = ormkit::sqlx::query_scalar("SHOW ssl")
        .fetch_one(&mut admin)
        .await?;
    admin.close().await?;
    let target = ConnectTarget::of(&server.parse()?);
    if ssl != "on" || target.address.starts_with('/') {
        eprintln!("DATABASE_URL's server has no TLS on TCP (ssl={ssl}, {target})");
        return Ok(());
    }
    let url = edited(&server, |u| {
        u.query_pairs_mut().append_pair("sslmode", "verify-full");
    });
    let err = pool_error("verify-full, untrusted certificate", &url, &config()).await;
    let cause = cause_of(&err, &target.address, None);
    assert!(
        matches!(
            cause,
            ConnectCause::Certificate {
                check: ormkit::CertificateCheck::UnknownIssuer,
                sslmode: "verify-full",
                ..
            }
        ),
        "{err}"
    );
    let shown = err.to_string();
    assert!(shown.contains("certificate"), "{shown}");
    assert!(shown.contains("unknown issuer"), "{shown}");
    assert!(shown.contains("sslrootcert"), "{shown}");
    Ok(())
}

#[tokio::test]
async fn an_exhausted_pool_says_so_and_how_long_it_waited() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let config = PoolConfig {
        max_connections: 1,
        min_connections: 0,
        acquire_timeout: Duration::from_millis(300),
        ..PoolConfig::default()
    };
    let pool = ormkit::create_smart_pool_with(db.url(), &config).await?;
    let held = pool.acquire().await?;
    let err = Repository::<User>::new(&pool).count().await.unwrap_err();
    assert!(
        matches!(
            err,
            OrmkitError::PoolExhausted {
                max_connections: 1,
                in_use: 1,
                waited,
            } if waited == Duration::from_millis(300)
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.starts_with("pool exhausted"), "{shown}");
    assert!(shown.contains("within 300 ms"), "{shown}");
    assert!(shown.contains("1 of 1 connections were in use"), "{shown}");
    assert_eq!(err.category(), ormkit::ErrorCategory::PoolTimeout);
    assert!(err.is_retryable());
    drop(held);
    assert_eq!(
        Repository::<User>::new(&pool).count().await?,
        0,
        "usable again"
    );
    pool.close().await;

    // Waiting past the connect timeout checks the server; a server that lets us in leaves
    // the caller waiting for the pool, and its timeout still says "exhausted".
    let config = PoolConfig {
        connect_timeout: Duration::from_millis(100),
        acquire_timeout: Duration::from_millis(1_500),
        ..config
    };
    let pool = ormkit::create_smart_pool_with(db.url(), &config).await?;
    let held = pool.acquire().await?;
    let err = Repository::<User>::new(&pool).count().await.unwrap_err();
    assert!(
        matches!(err, OrmkitError::PoolExhausted { in_use: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("within 1500 ms"), "{err}");
    drop(held);
    pool.close().await;
    Ok(())
}

#[tokio::test]
async fn a_server_gone_fails_after_the_connect_timeout_not_the_acquire_timeout(
) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = FaultProxy::start(db.url()).await?;
    let address = format!("127.0.0.1:{}", proxy.port());
    let config = PoolConfig {
        max_connections: 2,
        min_connections: 0,
        connect_timeout: Duration::from_millis(300),
        // Only the check after the connect timeout can end the wait with a cause: the
        // pool's own timeout would end it as a timeout of this length.
        acquire_timeout: LONG_ACQUIRE,
        check_idle_after: Duration::ZERO,
        ..PoolConfig::default()
    };
    let pool = ormkit::create_smart_pool_with(proxy.url(), &config).await?;
    assert_eq!(Repository::<User>::new(&pool).count().await?, 0);
    drop(proxy);
    let started = Instant::now();
    let err = Repository::<User>::new(&pool).count().await.unwrap_err();
    eprintln!(
        "server gone, long acquire timeout: after {:?}: {err}",
        started.elapsed()
    );
    let cause = cause_of(&err, &address, None);
    assert_eq!(cause, &ConnectCause::Refused, "{err}");
    Ok(())
}

#[tokio::test]
async fn a_server_gone_after_the_pool_was_built_is_named_at_the_acquire_timeout(
) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let proxy = FaultProxy::start(db.url()).await?;
    let address = format!("127.0.0.1:{}", proxy.port());
    let config = PoolConfig {
        max_connections: 2,
        min_connections: 0,
        acquire_timeout: Duration::from_millis(500),
        // Every pooled connection is checked before use: the dead one is replaced, not used.
        check_idle_after: Duration::ZERO,
        ..PoolConfig::default()
    };
    let pool = ormkit::create_smart_pool_with(proxy.url(), &config).await?;
    assert_eq!(Repository::<User>::new(&pool).count().await?, 0);
    drop(proxy); // closes its port: connections are cut, new ones refused
    let err = Repository::<User>::new(&pool).count().await.unwrap_err();
    eprintln!("server gone: {err}");
    let cause = cause_of(&err, &address, None);
    assert_eq!(cause, &ConnectCause::Refused, "{err}");
    Ok(())
}

#[tokio::test]
async fn a_cache_with_a_dead_direct_url_fails_with_the_cause() -> anyhow::Result<()> {
    use ormkit::cache::{EntityCache, InvalidationStrategy};
    let scratch = scratch()?;
    let pool = PgPool::connect(scratch.url()).await?;
    let port = refused_port();
    let started = Instant::now();
    let built = EntityCache::builder()
        .strategy(InvalidationStrategy::strong().heartbeat(None))
        .direct_url(format!("postgres://app:s3cret-pw@127.0.0.1:{port}/shop"))
        .build(&pool)
        .await;
    let err = match built {
        Ok(_) => panic!("a cache listening through a refused port was built"),
        Err(err) => err,
    };
    eprintln!(
        "cache, dead direct_url: failed after {:?}: {err}",
        started.elapsed()
    );
    let cause = cause_of(&err, &format!("127.0.0.1:{port}"), Some("s3cret-pw"));
    assert_eq!(cause, &ConnectCause::Refused, "{err}");
    pool.close().await;
    Ok(())
}

#[tokio::test]
async fn the_migrator_through_a_dead_direct_url_names_it() -> anyhow::Result<()> {
    let scratch = scratch()?;
    let pool = PgPool::connect(scratch.url()).await?;
    let port = refused_port();
    let migrator = ormkit::Migrator::new(&pool, ormkit_tests::entities::MIGRATIONS)
        .direct_url(format!("postgres://app:s3cret-pw@127.0.0.1:{port}/shop"));
    let err = migrator.status().await.unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    assert!(shown.contains("connection refused"), "{shown}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    match &err {
        ormkit::MigrateError::Connect(inner) => {
            cause_of(inner, &format!("127.0.0.1:{port}"), Some("s3cret-pw"));
        }
        other => panic!("expected MigrateError::Connect, got {other:?}"),
    }
    pool.close().await;
    Ok(())
}

#[tokio::test]
async fn a_connect_timeout_bounds_a_server_that_never_answers() -> anyhow::Result<()> {
    // A listener that accepts (the kernel completes the handshake) and never answers: the
    // attempt can only end by the connect timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = silent.local_addr()?.port();
    let config = PoolConfig {
        connect_timeout: Duration::from_millis(200),
        ..config()
    };
    let err = pool_error(
        "silent server",
        &format!("postgres://app@127.0.0.1:{port}/shop"),
        &config,
    )
    .await;
    let cause = cause_of(&err, &format!("127.0.0.1:{port}"), None);
    assert_eq!(
        cause,
        &ConnectCause::TimedOut {
            after: Duration::from_millis(200)
        },
        "{err}"
    );
    assert!(
        err.to_string().contains("ORMKIT_CONNECT_TIMEOUT_MS"),
        "{err}"
    );
    drop(silent);
    Ok(())
}
