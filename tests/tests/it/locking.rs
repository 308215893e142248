//! Row locks against real PostgreSQL: a job queue whose two concurrent workers take
//! disjoint rows with `FOR UPDATE SKIP LOCKED`, `NOWAIT` failing at once on a locked row,
//! and the clause's shape through a left join.

use ormkit::{transaction, Repository, Tx};
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;
use std::sync::Arc;
use tokio::sync::Barrier;

async fn enqueue(db: &TestDb, n: usize) -> anyhow::Result<()> {
    let jobs = Repository::<Job>::new(&db.pool);
    for i in 0..n {
        let mut job = NewJob::new("mail".into());
        job.payload = Some(ormkit::serde_json::json!({ "n": i }));
        jobs.insert(job).await?;
    }
    Ok(())
}

/// The next `n` ready jobs, locked until the transaction ends; others' locked rows skipped.
async fn take(tx: &Tx, n: i64) -> ormkit::Result<Vec<Job>> {
    Job::query()
        .filter(jobs::QUEUE.eq("mail"))
        .filter(jobs::STATE.eq("ready"))
        .order_by(jobs::ID.asc())
        .limit(n)
        .for_update()
        .skip_locked()
        .fetch_all(tx)
        .await
}

#[tokio::test]
async fn two_workers_with_skip_locked_take_disjoint_rows() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    enqueue(&db, 12).await?;
    // Both workers hold their locks until both have taken their rows.
    let barrier = Arc::new(Barrier::new(2));
    let worker = |name: &'static str| {
        let pool = db.pool.clone();
        let barrier = Arc::clone(&barrier);
        tokio::spawn(async move {
            transaction(&pool, |tx| {
                let barrier = Arc::clone(&barrier);
                async move {
                    let taken = take(&tx, 5).await?;
                    barrier.wait().await;
                    let ids: Vec<JobId> = taken.iter().map(|j| j.id).collect();
                    Job::query()
                        .filter(jobs::ID.is_in(ids.clone()))
                        .update(
                            [jobs::STATE.set("taken"), jobs::TAKEN_BY.set(Some(name))],
                            &tx,
                        )
                        .await?;
                    Ok::<_, ormkit::OrmkitError>(ids)
                }
            })
            .await
        })
    };
    let (a, b) = (worker("a"), worker("b"));
    let (a, b) = (a.await??, b.await??);
    assert_eq!((a.len(), b.len()), (5, 5));
    assert!(a.iter().all(|id| !b.contains(id)), "{a:?} / {b:?}");
    let left = Job::query()
        .filter(jobs::STATE.eq("ready"))
        .count(&db.pool)
        .await?;
    assert_eq!(left, 2);
    let by_a = Job::query()
        .filter(jobs::TAKEN_BY.eq(Some("a")))
        .count(&db.pool)
        .await?;
    assert_eq!(by_a, 5);
    Ok(())
}

#[tokio::test]
async fn nowait_fails_at_once_on_a_locked_row() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    enqueue(&db, 1).await?;
    let holder = db.pool.begin().await?;
    let mut holder = holder;
    let locked = Job::query().for_update().fetch_all(&mut *holder).await?;
    assert_eq!(locked.len(), 1);
    let err = transaction(&db.pool, |tx| async move {
        Job::query().for_update().nowait().fetch_all(&tx).await
    })
    .await
    .unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("55P03"), "{err}");
    holder.rollback().await?;
    Ok(())
}

#[tokio::test]
async fn the_lock_clause_spares_a_left_joins_nullable_side() -> anyhow::Result<()> {
    let sql = User::query()
        .left_join(users::POSTS)
        .for_share()
        .skip_locked()
        .to_sql()?
        .sql;
    assert!(sql.ends_with(r#" FOR SHARE OF "t0" SKIP LOCKED"#), "{sql}");
    let err = User::query()
        .group_by(users::MOOD)
        .select(users::MOOD)
        .for_update()
        .to_sql()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("FOR UPDATE cannot lock rows of a query with GROUP BY"),
        "{err}"
    );
    Ok(())
}
