//! Transactions: `ormkit::transaction(&pool, |tx| async move { … })` commits on `Ok`, rolls
//! back on `Err` or panic, nests with savepoints, and can re-run the whole closure on
//! serialization failures and deadlocks.
//!
//! A closure may return any error type that an [`OrmkitError`] converts into
//! ([`TransactionError`]): `OrmkitError` itself, `anyhow::Error`, an application's enum with
//! a `#[from] OrmkitError` variant. Whether to retry is never read from that error: the
//! transaction remembers whether its last failed statement failed with a retryable SQLSTATE
//! (40001, 40P01, …), whatever type the closure turned that failure into.

use crate::error::{OrmkitError, Result};
use crate::pool::tx::PoolTx;
use futures::future::BoxFuture;
use futures::FutureExt as _;
use sqlx::{PgConnection, PgPool};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// Isolation levels (`SET TRANSACTION ISOLATION LEVEL …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// PostgreSQL's default.
    #[default]
    ReadCommitted,
    /// `REPEATABLE READ`.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

/// When to re-run a transaction closure: on serialization failure (40001) and deadlock
/// (40P01), with jittered exponential backoff. An ambiguous outcome (the connection lost
/// during `COMMIT`) is never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff; doubled each retry, with up to 100 % jitter.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Never retry.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// Up to `max_attempts` attempts, starting at 10 ms and capped at 1 s.
    pub fn attempts(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        }
    }

    fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)));
        let capped = exp.min(self.max_delay);
        let jitter = rand::random::<f64>();
        capped.mul_f64(0.5 + jitter / 2.0)
    }
}

/// How a transaction runs. `TransactionOptions::default()` is read-committed, read-write,
/// no retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionOptions {
    /// The isolation level.
    pub isolation: IsolationLevel,
    /// `READ ONLY`.
    pub read_only: bool,
    /// Whether and how to re-run the closure.
    pub retry: RetryPolicy,
    /// `SET LOCAL statement_timeout`: a statement of the transaction that runs longer fails
    /// with 57014 (category `Timeout`). `None` keeps the session's setting.
    pub statement_timeout: Option<Duration>,
    /// `SET LOCAL lock_timeout`: a statement that waits longer for a lock fails with 55P03
    /// (category `Timeout`, retryable). `None` keeps the session's setting.
    pub lock_timeout: Option<Duration>,
}

impl Default for TransactionOptions {
    fn default() -> Self {
        TransactionOptions {
            isolation: IsolationLevel::ReadCommitted,
            read_only: false,
            retry: RetryPolicy::NONE,
            statement_timeout: None,
            lock_timeout: None,
        }
    }
}

impl TransactionOptions {
    fn set_statement(&self) -> Option<String> {
        let level = match self.isolation {
            IsolationLevel::ReadCommitted => None,
            IsolationLevel::RepeatableRead => Some("ISOLATION LEVEL REPEATABLE READ"),
            IsolationLevel::Serializable => Some("ISOLATION LEVEL SERIALIZABLE"),
        };
        let mode = self.read_only.then_some("READ ONLY");
        let parts: Vec<&str> = level.into_iter().chain(mode).collect();
        (!parts.is_empty()).then(|| format!("SET TRANSACTION {}", parts.join(" ")))
    }

    /// `SET LOCAL` of the timeouts, one statement (milliseconds, at least 1: 0 would mean
    /// "no timeout").
    fn set_timeouts(&self) -> Option<String> {
        let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128);
        let mut parts = Vec::new();
        if let Some(d) = self.statement_timeout {
            parts.push(format!("SET LOCAL statement_timeout = {}", ms(d)));
        }
        if let Some(d) = self.lock_timeout {
            parts.push(format!("SET LOCAL lock_timeout = {}", ms(d)));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Runs SQL text on `conn`, boxed as a `Send` future so that callers' futures stay `Send`
/// for every lifetime (see `statement::exec::Fetch`).
fn run_raw<'c>(
    conn: &'c mut PgConnection,
    sql: &'c str,
) -> BoxFuture<'c, Result<u64, sqlx::Error>> {
    // `Executor::execute` with SQL text and no arguments uses the simple query protocol.
    Box::pin(async move { Ok(sqlx::Executor::execute(conn, sql).await?.rows_affected()) })
}

/// The error type of a transaction closure: anything an [`OrmkitError`] converts into, so
/// `?` works on ormkit's calls inside the closure and the transaction's own failures (BEGIN,
/// COMMIT) reach the caller in the same type.
#[diagnostic::on_unimplemented(
    message = "a transaction closure's error type must implement `From<ormkit::OrmkitError>`; `{Self}` does not",
    label = "the closure returns `Result<_, {Self}>`",
    note = "return `ormkit::OrmkitError`, `anyhow::Error`, or an error enum with a `#[from] ormkit::OrmkitError` variant"
)]
pub trait TransactionError: From<OrmkitError> {}

impl<E: From<OrmkitError>> TransactionError for E {}

struct TxState {
    tx: Mutex<Option<PoolTx>>,
    savepoints: AtomicU32,
    /// Whether the last statement that failed in the transaction failed with a retryable
    /// SQLSTATE (cleared by a statement that succeeds, as after a savepoint was rolled back).
    retryable_failure: AtomicBool,
    /// The pool the transaction came from: the server its statements' spans name.
    pool: PgPool,
    /// Why the transaction must not commit, and at which savepoint depth that happened: a
    /// statement failed in it (PostgreSQL then aborts the transaction, and a `COMMIT` quietly
    /// rolls back), or a nested transaction was cut before it ended. A `ROLLBACK TO
    /// SAVEPOINT` of that depth or an outer one clears it.
    doomed: std::sync::Mutex<Option<(u32, String)>>,
}

impl TxState {
    fn doomed(&self) -> std::sync::MutexGuard<'_, Option<(u32, String)>> {
        self.doomed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the transaction as one that must not commit (the first reason is kept).
    fn doom(&self, depth: u32, why: String) {
        self.doomed().get_or_insert((depth, why));
    }
}

/// Dooms the transaction if a nested one is dropped (cut) between its `SAVEPOINT` and the
/// end of its `RELEASE` or `ROLLBACK TO`: what it wrote is then neither kept nor undone.
struct SavepointCut<'a> {
    state: &'a TxState,
    depth: u32,
    name: &'a str,
    armed: bool,
}

impl Drop for SavepointCut<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.state.doom(
                self.depth,
                format!(
                    "its nested transaction (savepoint {}) was cancelled before it ended",
                    self.name
                ),
            );
        }
    }
}

/// A handle on an open transaction, passed to the closure of [`transaction`]. Cheap to clone;
/// use it wherever a [`Db`](crate::Db) is taken (`Repository::new(&tx)`,
/// `query.fetch_all(&tx)`), or [`Tx::transaction`] for a nested one (a savepoint).
#[derive(Clone)]
pub struct Tx {
    state: Arc<TxState>,
    depth: u32,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl Tx {
    /// The transaction's connection, one statement at a time.
    pub(crate) async fn lock(&self) -> Result<MappedMutexGuard<'_, PgConnection>> {
        let guard: MutexGuard<'_, Option<PoolTx>> = self.state.tx.lock().await;
        MutexGuard::try_map(guard, |tx| tx.as_mut().map(|t| &mut **t)).map_err(|_| {
            OrmkitError::Transaction {
                message: "the transaction is already finished".into(),
                source: None,
            }
        })
    }

    /// The server the transaction runs on, as its pool was configured.
    pub(crate) fn endpoint(&self) -> crate::statement::span::Endpoint {
        crate::statement::span::Endpoint::of(&self.state.pool)
    }

    /// Notes how a statement of the transaction ended, for the retry decision.
    pub(crate) fn record_outcome<T>(&self, result: &Result<T>) {
        let retryable = result.as_ref().err().is_some_and(OrmkitError::is_retryable);
        self.state
            .retryable_failure
            .store(retryable, Ordering::Relaxed);
        if let Err(err) = result {
            if err.sqlstate().is_some() {
                self.state
                    .doom(self.depth, format!("a statement failed in it ({err})"));
            }
        }
    }

    /// Runs SQL text (no parameters) in the transaction; the number of rows affected.
    pub async fn execute(&self, sql: &str) -> Result<u64> {
        let mut conn = self.lock().await?;
        let result = run_raw(&mut conn, sql).await.map_err(OrmkitError::from);
        self.record_outcome(&result);
        result
    }

    /// Runs `f` in a savepoint: released on `Ok`, rolled back to on `Err` (the outer
    /// transaction goes on).
    pub async fn transaction<R, E, F, Fut>(&self, f: F) -> Result<R, E>
    where
        E: TransactionError,
        F: FnOnce(Tx) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let n = self.state.savepoints.fetch_add(1, Ordering::Relaxed);
        let name = format!("ormkit_sp_{n}");
        let mut cut = SavepointCut {
            state: &self.state,
            depth: self.depth + 1,
            name: &name,
            armed: true,
        };
        run_raw(&mut *self.lock().await?, &format!("SAVEPOINT {name}"))
            .await
            .map_err(OrmkitError::from)?;
        let inner = Tx {
            state: Arc::clone(&self.state),
            depth: self.depth + 1,
        };
        let result = AssertUnwindSafe(f(inner)).catch_unwind().await;
        let ok = matches!(result, Ok(Ok(_)));
        let end = if ok {
            format!("RELEASE SAVEPOINT {name}")
        } else {
            format!("ROLLBACK TO SAVEPOINT {name}")
        };
        let ended = match self.lock().await {
            Ok(mut conn) => run_raw(&mut conn, &end).await.map_err(OrmkitError::from),
            Err(err) => Err(err),
        };
        if ended.is_ok() {
            cut.armed = false;
            let mut doomed = self.state.doomed();
            if !ok
                && doomed
                    .as_ref()
                    .is_some_and(|(depth, _)| *depth > self.depth)
            {
                // Rolled back to before whatever doomed it.
                *doomed = None;
            }
        }
        match result {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(result) => {
                ended?;
                result
            }
        }
    }
}

/// Runs `f` in a transaction on `pool`: commit on `Ok`, rollback on `Err` or panic.
///
/// The closure's error type is yours ([`TransactionError`]: anything `From<OrmkitError>`);
/// BEGIN and COMMIT failures arrive converted into it.
///
/// ```no_run
/// # use ormkit_tests::entities::{NewPost, NewUser, Post, User};
/// # async fn example(pool: ormkit::sqlx::PgPool) -> anyhow::Result<()> {
/// use ormkit::Repository;
///
/// let user = ormkit::transaction(&pool, |tx| async move {
///     let user = Repository::<User>::new(&tx)
///         .insert(NewUser::new("ada@example.com".into()))
///         .await?;
///     Repository::<Post>::new(&tx)
///         .insert(NewPost::new(user.id, "Hello".into()))
///         .await?;
///     if user.email.ends_with("@example.org") {
///         anyhow::bail!("not for this domain"); // rolls back; any error type will do
///     }
///     Ok(user)
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn transaction<R, E, F, Fut>(pool: &PgPool, f: F) -> Result<R, E>
where
    E: TransactionError,
    F: FnMut(Tx) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    transaction_with(pool, TransactionOptions::default(), f).await
}

/// [`transaction`] with an isolation level, read-only mode, timeouts and a retry policy.
/// With a retry policy the whole closure runs again when the transaction failed with a
/// retryable SQLSTATE (a serialization failure, a deadlock, …): BEGIN or COMMIT did, or the
/// last statement that failed inside the closure did, whatever error the closure returned.
///
/// ```no_run
/// # async fn example(pool: ormkit::sqlx::PgPool) -> ormkit::Result<()> {
/// use ormkit::{IsolationLevel, RetryPolicy, TransactionOptions};
///
/// let options = TransactionOptions {
///     isolation: IsolationLevel::Serializable,
///     read_only: true, // a write fails with 25006, category `ErrorCategory::ReadOnly`
///     retry: RetryPolicy::attempts(5),
///     ..Default::default()
/// };
/// let n: u64 = ormkit::transaction_with(&pool, options, |tx| async move {
///     tx.execute("SELECT 1").await
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn transaction_with<R, E, F, Fut>(
    pool: &PgPool,
    options: TransactionOptions,
    mut f: F,
) -> Result<R, E>
where
    E: TransactionError,
    F: FnMut(Tx) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let mut attempt = 1;
    loop {
        let (result, retryable) = attempt_once(pool, &options, &mut f).await;
        match result {
            Err(_) if retryable && attempt < options.retry.max_attempts => {
                crate::metrics::transaction_retried();
                tokio::time::sleep(options.retry.delay(attempt - 1)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// One attempt, and whether its failure (if any) may go away when run again.
async fn attempt_once<R, E, F, Fut>(
    pool: &PgPool,
    options: &TransactionOptions,
    f: &mut F,
) -> (Result<R, E>, bool)
where
    E: TransactionError,
    F: FnMut(Tx) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let ormkit_failure = |err: OrmkitError| {
        let retryable = err.is_retryable();
        (Err(E::from(err)), retryable)
    };
    let tx = match begin(pool, options).await {
        Ok(tx) => tx,
        Err(err) => return ormkit_failure(err),
    };
    let state = Arc::new(TxState {
        tx: Mutex::new(Some(tx)),
        savepoints: AtomicU32::new(0),
        retryable_failure: AtomicBool::new(false),
        pool: pool.clone(),
        doomed: std::sync::Mutex::new(None),
    });
    let handle = Tx {
        state: Arc::clone(&state),
        depth: 0,
    };
    // A panic drops the transaction, which rolls it back.
    let result = f(handle).await;
    let tx = state.tx.lock().await.take();
    let Some(tx) = tx else {
        return ormkit_failure(OrmkitError::Transaction {
            message: "the transaction was finished inside the closure".into(),
            source: None,
        });
    };
    let doomed = state.doomed().take();
    match result {
        Ok(_) if doomed.is_some() => {
            let _ = tx.rollback().await;
            let why = doomed.map(|(_, why)| why).unwrap_or_default();
            let err = OrmkitError::Transaction {
                message: format!(
                    "the transaction was rolled back, not committed, although its closure \
                     returned Ok: {why}"
                ),
                source: None,
            };
            // Re-run if what doomed it was a serialization failure or a deadlock.
            let retryable = state.retryable_failure.load(Ordering::Relaxed);
            (Err(E::from(err)), retryable)
        }
        Ok(value) => match tx.commit().await {
            Ok(()) => (Ok(value), false),
            Err(err) => ormkit_failure(commit_error(err)),
        },
        Err(err) => {
            // Rollback errors are secondary: the closure's error is what the caller needs.
            let _ = tx.rollback().await;
            (Err(err), state.retryable_failure.load(Ordering::Relaxed))
        }
    }
}

/// BEGIN, and the options' `SET TRANSACTION` and `SET LOCAL` statements. A wait for a pooled
/// connection past the connect timeout checks the server, so an unreachable one fails with
/// its cause, and an acquire timeout says whether the pool is exhausted.
async fn begin(pool: &PgPool, options: &TransactionOptions) -> Result<PoolTx> {
    let begun = std::pin::pin!(crate::pool::pooler::begin(pool));
    let mut tx = crate::connect::acquire_explained(pool, begun).await?;
    if let Some(set) = options.set_statement() {
        run_raw(&mut tx, &set).await?;
    }
    if let Some(set) = options.set_timeouts() {
        run_raw(&mut tx, &set).await?;
    }
    Ok(tx)
}

/// A COMMIT that failed with a definite answer from the server (serialization failure at
/// commit, a deferred constraint) is an ordinary error; one whose answer was lost may or may
/// not have committed, and must never be retried.
pub(crate) fn commit_error(err: sqlx::Error) -> OrmkitError {
    match &err {
        sqlx::Error::Database(db) if db.code().as_deref() != Some("08007") => {
            OrmkitError::Database(err)
        }
        _ => OrmkitError::Transaction {
            message: "the outcome of COMMIT is unknown (the connection failed while committing); \
                      check the data before retrying"
                .into(),
            source: Some(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_commit_is_an_unknown_outcome_and_never_retried() {
        let lost = commit_error(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()));
        assert!(matches!(lost, OrmkitError::Transaction { .. }), "{lost}");
        assert!(!lost.is_retryable());
        assert!(lost.to_string().contains("unknown"));
    }

    #[test]
    fn set_transaction_statements() {
        let options = TransactionOptions {
            isolation: IsolationLevel::Serializable,
            read_only: true,
            retry: RetryPolicy::NONE,
            statement_timeout: Some(Duration::from_millis(1500)),
            lock_timeout: Some(Duration::ZERO),
        };
        assert_eq!(
            options.set_statement().as_deref(),
            Some("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY")
        );
        assert_eq!(
            options.set_timeouts().as_deref(),
            Some("SET LOCAL statement_timeout = 1500; SET LOCAL lock_timeout = 1")
        );
        assert_eq!(TransactionOptions::default().set_statement(), None);
        assert_eq!(TransactionOptions::default().set_timeouts(), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::attempts(5);
        assert!(policy.delay(0) <= Duration::from_millis(10));
        assert!(policy.delay(0) >= Duration::from_millis(5));
        assert!(policy.delay(20) <= Duration::from_secs(1));
    }
}
