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
/// write, `cluster` checks that it runs on a unix socket (a throwaway cluster).
#[ormkit::test]
async fn probe(pool: PgPool) -> anyhow::Result<()> {
    let (database, data_dir, over_tcp): (String, String, bool) = ormkit::sqlx::query_as(
        "SELECT current_database()::text, current_setting('data_directory'), \
         inet_server_addr() IS NOT NULL",
    )
    .fetch_one(&pool)
    .await?;
    println!("probe database={database} data_dir={data_dir}");
    Repository::<User>::new(&pool)
        .insert(NewUser::new("probe@example.com".into()))
        .await?;
    match std::env::var("ORMKIT_TEST_PROBE").as_deref() {
        Ok("fail") => anyhow::bail!("the probe was asked to fail"),
        Ok("cluster") => assert!(!over_tcp, "a throwaway cluster listens on a socket only"),
        _ => {}
    }
    Ok(())
}

/// This test binary, running only [`probe`], with `DATABASE_URL` as given.
fn run_probe(database_url: Option<&str>, mode: &str) -> Output {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "testing::probe",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ORMKIT_TEST_PROBE", mode);
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
