//! Counting the statements a piece of code runs: the way to prove, in a test, that eager
//! loading costs one query per relation level and not one per row.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static STATEMENTS: Cell<u64>;
}

/// Runs `f` and returns its output with the number of statements ormkit sent for it (on any
/// pool, connection or transaction).
///
/// ```ignore
/// let (posts, n) = ormkit::count_statements(users::POSTS.load(&users, &pool)).await;
/// assert_eq!(n, 1);
/// ```
pub async fn count_statements<F: Future>(f: F) -> (F::Output, u64) {
    STATEMENTS
        .scope(Cell::new(0), async move {
            let out = f.await;
            (out, STATEMENTS.with(Cell::get))
        })
        .await
}

/// Called once per statement sent.
pub(crate) fn record_statement() {
    let _ = STATEMENTS.try_with(|n| n.set(n.get() + 1));
}
