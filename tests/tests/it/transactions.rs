//! Transactions: commit, rollback on error and panic, savepoints, isolation, and re-running on
//! real serialization failures.

use ormkit::sqlx::PgPool;
use ormkit::{
    transaction, transaction_with, IsolationLevel, OrmkitError, Repository, RetryPolicy,
    TransactionOptions,
};
use ormkit_tests::entities::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

fn new_user(email: &str) -> NewUser {
    NewUser::new(email.into())
}

#[ormkit::test]
async fn commit_rollback_and_panic(pool: PgPool) -> anyhow::Result<()> {
    let user = transaction(&pool, |tx| async move {
        Repository::<User>::new(&tx)
            .insert(new_user("a@x.io"))
            .await
    })
    .await?;
    assert_eq!(
        Repository::<User>::new(&pool).get(user.id).await?.email,
        "a@x.io"
    );

    let err = transaction(&pool, |tx| async move {
        Repository::<User>::new(&tx)
            .insert(new_user("b@x.io"))
            .await?;
        Err::<(), _>(OrmkitError::Query {
            table: "test".into(),
            message: "the closure failed".into(),
        })
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("the closure failed"));
    assert_eq!(User::query().count(&pool).await?, 1, "rolled back");

    let spawned = pool.clone();
    let panicked = tokio::spawn(async move {
        transaction(&spawned, |tx| async move {
            Repository::<User>::new(&tx)
                .insert(new_user("c@x.io"))
                .await?;
            panic!("boom");
            #[allow(unreachable_code)]
            Ok::<(), OrmkitError>(())
        })
        .await
    })
    .await;
    assert!(panicked.is_err(), "the panic propagates");
    assert_eq!(User::query().count(&pool).await?, 1, "a panic rolls back");
    Ok(())
}

#[ormkit::test]
async fn nested_transactions_use_savepoints(pool: PgPool) -> anyhow::Result<()> {
    transaction(&pool, |tx| async move {
        Repository::<User>::new(&tx)
            .insert(new_user("outer@x.io"))
            .await?;
        let inner = tx
            .transaction(|inner| async move {
                Repository::<User>::new(&inner)
                    .insert(new_user("inner@x.io"))
                    .await?;
                // A failing statement inside the savepoint: only the savepoint is undone.
                Repository::<User>::new(&inner)
                    .insert(new_user("outer@x.io"))
                    .await
            })
            .await;
        assert_eq!(inner.unwrap_err().sqlstate().as_deref(), Some("23505"));
        tx.transaction(|inner| async move {
            Repository::<User>::new(&inner)
                .insert(new_user("kept@x.io"))
                .await
        })
        .await?;
        Ok::<(), OrmkitError>(())
    })
    .await?;
    let mut emails: Vec<String> = Repository::<User>::new(&pool)
        .find_all()
        .await?
        .into_iter()
        .map(|u| u.email)
        .collect();
    emails.sort();
    assert_eq!(emails, ["kept@x.io", "outer@x.io"]);
    Ok(())
}

#[ormkit::test]
async fn read_only_transactions_refuse_writes(pool: PgPool) -> anyhow::Result<()> {
    let options = TransactionOptions {
        read_only: true,
        isolation: IsolationLevel::RepeatableRead,
        ..TransactionOptions::default()
    };
    let err = transaction_with(&pool, options, |tx| async move {
        Repository::<User>::new(&tx)
            .insert(new_user("ro@x.io"))
            .await
    })
    .await
    .unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("25006"), "{err}");
    assert_eq!(err.category(), ormkit::ErrorCategory::ReadOnly, "{err}");
    Ok(())
}

/// Two serializable transactions that each read what the other writes: PostgreSQL aborts one
/// with 40001, and the retry policy runs it again until it commits.
#[ormkit::test]
async fn serialization_failures_are_retried(pool: PgPool) -> anyhow::Result<()> {
    let users = Repository::<User>::new(&pool);
    let a = users.insert(new_user("a@x.io")).await?;
    let b = users.insert(new_user("b@x.io")).await?;
    let attempts = Arc::new(AtomicU32::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let options = TransactionOptions {
        isolation: IsolationLevel::Serializable,
        retry: RetryPolicy::attempts(10),
        ..TransactionOptions::default()
    };
    let run = |read: UserId, write: UserId| {
        let pool = pool.clone();
        let attempts = Arc::clone(&attempts);
        let barrier = Arc::clone(&barrier);
        async move {
            let first = AtomicU32::new(1);
            transaction_with(&pool, options, |tx| {
                let attempts = Arc::clone(&attempts);
                let barrier = Arc::clone(&barrier);
                let wait = first.swap(0, Ordering::SeqCst) == 1;
                async move {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    let karma = Repository::<User>::new(&tx)
                        .get(read)
                        .await?
                        .karma
                        .unwrap_or(1);
                    if wait {
                        // Both transactions have read before either writes.
                        barrier.wait().await;
                    }
                    let mut patch = UserPatch::new(write);
                    patch.karma = Some(Some(karma + 1));
                    Repository::<User>::new(&tx).update(patch).await?;
                    Ok::<(), OrmkitError>(())
                }
            })
            .await
        }
    };
    let (x, y) = tokio::join!(run(a.id, b.id), run(b.id, a.id));
    x?;
    y?;
    assert!(
        attempts.load(Ordering::SeqCst) >= 3,
        "one transaction must have been re-run"
    );
    Ok(())
}

#[ormkit::test]
async fn without_a_retry_policy_the_failure_surfaces_as_retryable(
    pool: PgPool,
) -> anyhow::Result<()> {
    let err = transaction(&pool, |tx| async move {
        sqlx_raw(&tx, "SELECT 1/0").await?;
        Ok::<(), OrmkitError>(())
    })
    .await
    .unwrap_err();
    assert_eq!(err.sqlstate().as_deref(), Some("22012"));
    assert!(!err.is_retryable());
    Ok(())
}

async fn sqlx_raw(tx: &ormkit::Tx, sql: &str) -> ormkit::Result<()> {
    tx.execute(sql).await.map(|_| ())
}

/// An application's own error type for transaction closures.
#[derive(Debug)]
enum AppError {
    Db(OrmkitError),
    Rule(&'static str),
}

impl From<OrmkitError> for AppError {
    fn from(err: OrmkitError) -> Self {
        AppError::Db(err)
    }
}

const RAISE_40001: &str =
    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$";

/// Closures return the caller's error type (`anyhow::Error`, an application enum); the retry
/// policy still decides on the SQLSTATE of the statement that failed, not on that type.
#[ormkit::test]
async fn closures_return_any_error_type_and_retries_follow_the_sqlstate(
    pool: PgPool,
) -> anyhow::Result<()> {
    let retrying = TransactionOptions {
        retry: RetryPolicy::attempts(3),
        ..TransactionOptions::default()
    };

    // An application error rolls back and is returned as it is, never retried.
    let attempts = AtomicU32::new(0);
    let err = transaction_with(&pool, retrying, |tx| {
        attempts.fetch_add(1, Ordering::SeqCst);
        async move {
            Repository::<User>::new(&tx)
                .insert(new_user("rule@x.io"))
                .await?;
            Err::<(), _>(AppError::Rule("karma too low"))
        }
    })
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Rule("karma too low")), "{err:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(User::query().count(&pool).await?, 0, "rolled back");

    // A statement that failed with a non-retryable SQLSTATE, carried in the enum: one attempt.
    let attempts = AtomicU32::new(0);
    let err = transaction_with(&pool, retrying, |tx| {
        attempts.fetch_add(1, Ordering::SeqCst);
        async move { tx.execute("SELECT 1/0").await.map_err(AppError::from) }
    })
    .await
    .unwrap_err();
    let AppError::Db(inner) = err else {
        panic!("the database error comes back in the enum: {err:?}")
    };
    assert_eq!(inner.sqlstate().as_deref(), Some("22012"));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    // 40001 turned into an `anyhow::Error` (with context) is still retried, and the second
    // attempt commits.
    let attempts = AtomicU32::new(0);
    let user = transaction_with(&pool, retrying, |tx| {
        let attempt = attempts.fetch_add(1, Ordering::SeqCst);
        async move {
            let user = Repository::<User>::new(&tx)
                .insert(new_user("retried@x.io"))
                .await?;
            if attempt == 0 {
                use anyhow::Context as _;
                tx.execute(RAISE_40001).await.context("the first attempt")?;
            }
            anyhow::Ok(user)
        }
    })
    .await?;
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(
        Repository::<User>::new(&pool).get(user.id).await?.email,
        "retried@x.io"
    );

    // Without a retry policy, the same failure reaches the caller in its type.
    let err = transaction(&pool, |tx| async move {
        tx.execute(RAISE_40001).await?;
        anyhow::Ok(())
    })
    .await
    .unwrap_err();
    let cause = err
        .downcast_ref::<OrmkitError>()
        .expect("an OrmkitError inside");
    assert_eq!(cause.sqlstate().as_deref(), Some("40001"));
    Ok(())
}
