//! `#[ormkit::test]` itself: isolation between tests running in parallel, fixtures, the
//! template reused across runs (child processes of this binary), a failed test's database
//! kept, and the throwaway-cluster mode.

use ormkit::sqlx::PgPool;
use ormkit::Repository;
use ormkit_tests::entities::{NewUser, User, MIGRATIONS};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How many of the two isolation tests have written their row.
static WRITTEN: AtomicU32 = AtomicU32::new(0);

/// Both isolation tests insert the same unique email, then wait (a bounded while) until the
/// other has too: with a shared database one of them would fail with 23505 or count 2.
async fn write_the_same_key(pool: &PgPool) -> anyhow::Result<()> {
    Repository::<User>::new(pool)
        .insert(NewUser::new("same@example.com".into()))
        .await?;
    WRITTEN.fetch_add(1, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while WRITTEN.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(User::query().count(pool).await?, 1, "only this test's row");
    Ok(())
}

#[ormkit::test]
async fn isolation_one(pool: PgPool) -> anyhow::Result<()> {
    write_the_same_key(&pool).await
}

#[ormkit::test]
async fn isolation_two(pool: PgPool) -> anyhow::Result<()> {
    write_the_same_key(&pool).await
}

#[ormkit::test(fixtures("users"))]
async fn fixtures_run_before_the_test(pool: PgPool) -> anyhow::Result<()> {
    let mut emails: Vec<String> = Repository::<User>::new(&pool)
        .find_all()
        .await?
        .into_iter()
        .map(|u| u.email)
        .collect();
    emails.sort();
    assert_eq!(emails, ["ada@example.com", "grace@example.com"]);
    Ok(())
}

/// Run by [`template_reuse_kept_failures_and_cluster_mode`] in child processes, and as an
/// ordinary test: prints where it ran; `ORMKIT_TEST_PROBE=fail` makes it fail after a
/// write, `cluster` checks that it runs on a unix socket (a throwaway cluster), `spares`
/// waits (a bounded while) until the background thread has made `ORMKIT_TEST_SPARES` spares
/// and dropped every trash database.
#[ormkit::test]
async fn probe(pool: PgPool) -> anyhow::Result<()> {
    let (database, oid, data_dir, over_tcp): (String, i64, String, bool) = ormkit::sqlx::query_as(
        "SELECT current_database()::text, \
             (SELECT oid::int8 FROM pg_database WHERE datname = current_database()), \
             current_setting('data_directory'), inet_server_addr() IS NOT NULL",
    )
    .fetch_one(&pool)
    .await?;
    println!("probe database={database} oid={oid} data_dir={data_dir}");
    Repository::<User>::new(&pool)
        .insert(NewUser::new("probe@example.com".into()))
        .await?;
    match std::env::var("ORMKIT_TEST_PROBE").as_deref() {
        Ok("fail") => anyhow::bail!("the probe was asked to fail"),
        Ok("cluster") => assert!(!over_tcp, "a throwaway cluster listens on a socket only"),
        Ok("spares") => {
            let wanted: i64 = std::env::var(ormkit::testing::SPARES_VAR)?.parse()?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let (spares, trash) = ormkit_tests::support::spares_and_trash(&pool).await?;
                if spares >= wanted && trash == 0 {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{spares} spares and {trash} trash databases after 60 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        _ => {}
    }
    Ok(())
}

/// This test binary, running only [`probe`], with `DATABASE_URL` as given.
fn run_probe(database_url: Option<&str>, mode: &str) -> Output {
    run_probe_with(database_url, mode, "0")
}

/// [`run_probe`] with `ORMKIT_TEST_SPARES` as given (`0`: none, as the other runs).
fn run_probe_with(database_url: Option<&str>, mode: &str, spares: &str) -> Output {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "testing::probe",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ORMKIT_TEST_PROBE", mode)
        .env(ormkit::testing::SPARES_VAR, spares);
    match database_url {
        Some(url) => child.env("DATABASE_URL", url),
        None => child.env_remove("DATABASE_URL"),
    };
    child.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The value after `key=` in the probe's output.
fn probe_value(output: &Output, key: &str) -> String {
    let out = text(output);
    let start = out
        .find(&format!("{key}="))
        .unwrap_or_else(|| panic!("no {key} in: {out}"))
        + key.len()
        + 1;
    out[start..].split_whitespace().next().unwrap().to_owned()
}

async fn one<T>(pool: &PgPool, sql: &str, name: &str) -> anyhow::Result<T>
where
    T: Send + Unpin + for<'r> ormkit::sqlx::Decode<'r, ormkit::sqlx::Postgres>,
    T: ormkit::sqlx::Type<ormkit::sqlx::Postgres>,
{
    Ok(ormkit::sqlx::query_scalar(sql)
        .bind(name)
        .fetch_one(pool)
        .await?)
}

/// On a server of this test's own (a throwaway cluster, whatever the mode of the run):
/// separate runs of the probe reuse one template; a failed probe's database is kept with its
/// rows and named; with no `DATABASE_URL` the probe runs on a throwaway cluster of its own,
/// deleted when it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_reuse_kept_failures_and_cluster_mode() -> anyhow::Result<()> {
    let bindir = ormkit_build_support::find_bindir(|v| std::env::var(v).ok())
        .expect("this test needs PostgreSQL's server binaries");
    let server = ormkit_build_support::ScratchDatabase::local_cluster(&bindir, None)?;
    let url = server.url().to_owned();
    let admin = PgPool::connect(&url).await?;
    let template = ormkit::testing::template_name(MIGRATIONS);
    let oid = "SELECT oid::int8 FROM pg_database WHERE datname = $1";

    let first = run_probe(Some(&url), "pass");
    assert!(first.status.success(), "{}", text(&first));
    let created: i64 = one(&admin, oid, &template).await?;
    let second = run_probe(Some(&url), "pass");
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        one::<i64>(&admin, oid, &template).await?,
        created,
        "the second run cloned the same template"
    );
    let leftovers: i64 = one(
        &admin,
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'ormkit_test_%' OR datname = $1 || '_build'",
        &template,
    )
    .await?;
    assert_eq!(leftovers, 0, "passing tests drop their databases");

    let failed = run_probe(Some(&url), "fail");
    assert!(!failed.status.success(), "{}", text(&failed));
    let out = text(&failed);
    let kept = probe_value(&failed, "database");
    assert!(
        out.contains(&format!("ormkit::test: kept database {kept} on ")),
        "{out}"
    );
    assert!(out.contains("the probe was asked to fail"), "{out}");
    let kept_pool = PgPool::connect_with(
        url.parse::<ormkit::sqlx::postgres::PgConnectOptions>()?
            .database(&kept),
    )
    .await?;
    assert_eq!(
        User::query().count(&kept_pool).await?,
        1,
        "the failed test's row is there"
    );
    kept_pool.close().await;

    let own = run_probe(None, "cluster");
    assert!(own.status.success(), "{}", text(&own));
    let data_dir = probe_value(&own, "data_dir");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::path::Path::new(&data_dir).exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !std::path::Path::new(&data_dir).exists(),
        "the probe's cluster ({data_dir}) is deleted once it exits"
    );
    admin.close().await;
    server.close()?;
    Ok(())
}

/// With spares on (`ORMKIT_TEST_SPARES`), on a server of this test's own: a run's background
/// thread clones spares ahead of time; the next run's test is handed one of them (renamed, so
/// its oid is the spare's), and that run's thread makes a new one and drops the databases
/// the first run's passed tests left as trash. A count that is not a number is an error
/// naming the variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spares_are_cloned_ahead_and_handed_to_the_next_run() -> anyhow::Result<()> {
    let bindir = ormkit_build_support::find_bindir(|v| std::env::var(v).ok())
        .expect("this test needs PostgreSQL's server binaries");
    let server = ormkit_build_support::ScratchDatabase::local_cluster(&bindir, None)?;
    let url = server.url().to_owned();
    let admin = PgPool::connect(&url).await?;
    let spares = "SELECT oid::int8 FROM pg_database WHERE datname LIKE 'ormkit\\_spare\\_%'";

    let first = run_probe_with(Some(&url), "spares", "2");
    assert!(first.status.success(), "{}", text(&first));
    let made: Vec<i64> = ormkit::sqlx::query_scalar(spares).fetch_all(&admin).await?;
    assert_eq!(made.len(), 2, "two spares wait for the next run");
    let first_oid: i64 = probe_value(&first, "oid").parse()?;
    assert!(!made.contains(&first_oid), "the first run had no spare yet");

    let second = run_probe_with(Some(&url), "spares", "2");
    assert!(second.status.success(), "{}", text(&second));
    let claimed: i64 = probe_value(&second, "oid").parse()?;
    assert!(
        made.contains(&claimed),
        "the second run's test got a spare ({claimed} in {made:?})"
    );
    let now: Vec<i64> = ormkit::sqlx::query_scalar(spares).fetch_all(&admin).await?;
    assert_eq!(now.len(), 2, "the claimed spare was replaced");
    let tests: i64 = ormkit::sqlx::query_scalar(
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'ormkit\\_test\\_%'",
    )
    .fetch_one(&admin)
    .await?;
    assert_eq!(tests, 0, "passed tests leave no database of their own");

    let bad = run_probe_with(Some(&url), "pass", "many");
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(
        text(&bad).contains("ORMKIT_TEST_SPARES=\"many\" is not a number"),
        "{}",
        text(&bad)
    );
    admin.close().await;
    server.close()?;
    Ok(())
}
