//! The one executor path: every statement ormkit sends goes through [`Db::run`], [`stream`]
//! or [`copy_in`], and each gets its `tracing` span, its metrics and its
//! [`count_statements`](crate::count_statements) count in [`Recording`], and nowhere else.
//! A [`Cluster`](crate::Cluster)'s router (`crate::cluster::route`) only chooses the
//! [`Target`]: it sends through [`send`] and [`on_pool`] like everything else.

use super::span::{self, Endpoint, Failure, Names};
use super::{Op, Statement, Subject};
use crate::db::{Db, PoolTag, Target};
use crate::error::{OrmkitError, Result};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt as _;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::PgConnection;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

/// A decodable row: what a statement's rows are turned into.
pub(crate) trait Row: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static {}
impl<T> Row for T where T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static {}

/// What a statement returns, and how it is fetched: all rows (`Vec`), at most one
/// (`Option`), exactly one ([`One`]), rows decoded by a query's own decoder ([`Decoded`],
/// [`MaybeDecoded`]) or the number of rows affected ([`Done`]).
pub(crate) trait Fetch: Sized + Send + 'static {
    /// What fetching needs besides the statement: nothing, or a typed query's row decoder.
    type With: Copy + Send + Sync + 'static;
    /// Sends `sql` with `args` on `conn`. Boxed, and checked `Send` here with concrete
    /// lifetimes: sqlx's `Executor` impls otherwise keep callers' futures from being `Send`
    /// for every lifetime (so they could not be `tokio::spawn`ed).
    fn fetch<'c>(
        with: Self::With,
        sql: &'c str,
        args: PgArguments,
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<Self, sqlx::Error>>;
    /// The rows in the result, for the span.
    fn rows(&self) -> u64;
}

/// Decodes one row of a typed query.
pub(crate) type Decoder<R> = fn(&PgRow) -> Result<R, sqlx::Error>;

/// A row type's `FromRow`, as a [`Decoder`].
pub(crate) fn from_row<T: Row>(row: &PgRow) -> Result<T, sqlx::Error> {
    T::from_row(row)
}

/// Every row, each decoded by the query's decoder.
#[derive(Debug)]
pub(crate) struct Decoded<R>(pub(crate) Vec<R>);

/// The first row, if any, decoded by the query's decoder.
#[derive(Debug)]
pub(crate) struct MaybeDecoded<R>(pub(crate) Option<R>);

impl<R: Send + Unpin + 'static> Fetch for Decoded<R> {
    type With = Decoder<R>;

    fn fetch<'c>(
        decode: Decoder<R>,
        sql: &'c str,
        args: PgArguments,
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<Self, sqlx::Error>> {
        Box::pin(async move {
            let rows = sqlx::query_with(sql, args)
                .try_map(move |row: PgRow| decode(&row))
                .fetch_all(conn)
                .await?;
            Ok(Decoded(rows))
        })
    }

    fn rows(&self) -> u64 {
        self.0.len() as u64
    }
}

impl<R: Send + Unpin + 'static> Fetch for MaybeDecoded<R> {
    type With = Decoder<R>;

    fn fetch<'c>(
        decode: Decoder<R>,
        sql: &'c str,
        args: PgArguments,
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<Self, sqlx::Error>> {
        Box::pin(async move {
            let row = sqlx::query_with(sql, args)
                .try_map(move |row: PgRow| decode(&row))
                .fetch_optional(conn)
                .await?;
            Ok(MaybeDecoded(row))
        })
    }

    fn rows(&self) -> u64 {
        u64::from(self.0.is_some())
    }
}

/// Exactly one row (a missing row is the driver's `RowNotFound`).
#[derive(Debug)]
pub(crate) struct One<T>(pub(crate) T);

/// The rows a statement affected.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done(pub(crate) u64);

impl<T: Row> Fetch for Vec<T> {
    type With = ();

    fn fetch<'c>(
        (): (),
        sql: &'c str,
        args: PgArguments,
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<Self, sqlx::Error>> {
        Box::pin(sqlx::query_as_with::<_, T, _>(sql, args).fetch_all(conn))
    }

    fn rows(&self) -> u64 {
        self.len() as u64
    }
}

impl<T: Row> Fetch for Option<T> {
    type With = ();

    fn fetch<'c>(
        (): (),
        sql: &'c str,
        args: PgArguments,
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<Self, sqlx::Error>> {
        Box::pin(sqlx::query_as_with::<_, T, _>(sql, args).fetch_optional(conn))
    }

    fn rows(&self) -> u64 {
        u64::from(self.is_some())
    }
}

impl<T: Row> Fetch for One<T> {
    type With = ();

    fn fetch<'c>(
        (): (),
        sql: &'c str,
        args: PgArguments,
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<Self, sqlx::Error>> {
        Box::pin(async move {
            let row = sqlx::query_as_with::<_, T, _>(sql, args)
                .fetch_one(conn)
                .await?;
            Ok(One(row))
        })
    }

    fn rows(&self) -> u64 {
        1
    }
}

impl Fetch for Done {
    type With = ();

    fn fetch<'c>(
        (): (),
        sql: &'c str,
        args: PgArguments,
        conn: &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<Self, sqlx::Error>> {
        Box::pin(async move {
            let done = sqlx::query_with(sql, args).execute(conn).await?;
            Ok(Done(done.rows_affected()))
        })
    }

    fn rows(&self) -> u64 {
        self.0
    }
}

/// One statement being recorded: its span (`ormkit.query`: OpenTelemetry's database
/// attributes and ormkit's table, op, pool, rows, duration, error; never parameter values),
/// its metrics and its statement count.
#[derive(Debug)]
pub(crate) struct Recording {
    span: tracing::Span,
    label: &'static str,
    op: Op,
    pool: PoolTag,
    names: Names,
    start: Instant,
}

impl Recording {
    /// `endpoint` is asked only when a subscriber wants the span.
    pub(crate) fn start(
        table: Subject,
        op: Op,
        pool: PoolTag,
        sql: &str,
        endpoint: impl FnOnce() -> Endpoint,
    ) -> Self {
        if op != Op::Catalog {
            crate::stats::record_statement();
        }
        let names = table.names(op);
        let span = span::statement(table.label(), op, pool.as_str(), &names, sql, endpoint);
        Recording {
            span,
            label: table.label(),
            op,
            pool,
            names,
            start: Instant::now(),
        }
    }

    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The statement went to another pool than the one it started for (a replica's read
    /// sent to the primary instead).
    pub(crate) fn retag(&mut self, pool: PoolTag, endpoint: Endpoint) {
        self.pool = pool;
        self.span.record("pool", pool.as_str());
        span::record_endpoint(&self.span, &endpoint);
    }

    /// Ends the recording with the statement's outcome.
    pub(crate) fn finish<T>(self, result: &Result<T>, rows: impl FnOnce(&T) -> u64) {
        let elapsed: Duration = self.start.elapsed();
        let (rows, failure) = match result {
            Ok(value) => (Some(rows(value)), None),
            Err(err) => (None, Some(Failure::of(err))),
        };
        span::finish(&self.span, elapsed, rows, failure.as_ref());
        crate::metrics::record(
            self.label,
            self.op.as_str(),
            self.pool.as_str(),
            &self.names,
            elapsed,
            failure.as_ref(),
        );
    }
}

/// What one statement is, apart from its parameters (which are moved into the send).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent<'s> {
    pub(crate) sql: &'s str,
    pub(crate) table: Subject,
    pub(crate) op: Op,
}

impl Db<'_> {
    /// Runs `statement` and fetches its result as `F` says: on a cluster, where its router
    /// sends it; on a pool, with one resend of a read whose connection failed; on a
    /// connection or transaction, there.
    pub(crate) async fn run<F: Fetch<With = ()>>(&self, statement: Statement) -> Result<F> {
        self.run_with(statement, ()).await
    }

    /// [`run`](Self::run), with what fetching `F` needs (a typed query's row decoder).
    pub(crate) async fn run_with<F: Fetch>(
        &self,
        statement: Statement,
        with: F::With,
    ) -> Result<F> {
        let Statement {
            sql,
            args,
            table,
            op,
        } = statement;
        let sent = Sent {
            sql: &sql,
            table,
            op,
        };
        match self {
            Db::Cluster(cluster) => cluster.run(sent, with, args).await,
            Db::Pool(_) => on_pool(self.target(), sent, with, args).await,
            Db::Conn(_) | Db::Tx(_) => send(self.target(), sent, with, args).await,
        }
    }
}

/// Sends `sent` with `args` to `target`, a pool. A read whose connection failed (a server
/// restart or failover leaves dead connections in the pool) is sent once more on another
/// connection: ormkit's reads have no side effects, so a second send is harmless. A write
/// is never sent again: its outcome is unknown.
pub(crate) async fn on_pool<F: Fetch>(
    target: Target<'_, '_>,
    sent: Sent<'_>,
    with: F::With,
    args: PgArguments,
) -> Result<F> {
    let retry = sent.op.is_read().then(|| args.clone());
    match (send::<F>(target, sent, with, args).await, retry) {
        (Err(err), Some(args)) if err.is_connection_failure() => {
            send(target, sent, with, args).await
        }
        (result, _) => result,
    }
}

/// Sends `sent` with `args` to `target` once, recorded.
pub(crate) async fn send<F: Fetch>(
    target: Target<'_, '_>,
    sent: Sent<'_>,
    with: F::With,
    args: PgArguments,
) -> Result<F> {
    let recording = Recording::start(sent.table, sent.op, target.tag(), sent.sql, || {
        target.endpoint()
    });
    let result = async {
        let mut conn = target.connection().await?;
        let out = F::fetch(with, sent.sql, args, &mut conn).await?;
        conn.finish().await?;
        Ok(out)
    }
    .instrument(recording.span().clone())
    .await;
    recording.finish(&result, F::rows);
    if let Target::Tx(tx) = target {
        tx.record_outcome(&result);
    }
    if let (Err(err), Some(pool)) = (&result, target.pool_of()) {
        if err.is_connection_failure() {
            crate::pool::health::connection_failed(pool);
        }
    }
    result
}

/// Rows of `statement` on `db`, decoded by `decode` one at a time as they arrive, recorded
/// when the stream ends. On a cluster a read streams from a replica (or the primary, when
/// none may serve it or the replica's connection fails); nothing is sent twice once rows
/// flow.
pub(crate) fn stream<'a, T: Send + Unpin + 'static>(
    db: Db<'a>,
    statement: Statement,
    decode: Decoder<T>,
) -> BoxStream<'a, Result<T>> {
    async_stream::try_stream! {
        let Statement { sql, args, table, op } = statement;
        let route = crate::cluster::StreamRoute::new(&db, op);
        let mut recording = Recording::start(table, op, route.tag(), &sql, || route.endpoint());
        let (mut conn, pool) = route.connection().instrument(recording.span().clone()).await?;
        if pool != route.tag() {
            recording.retag(pool, db.endpoint());
        }
        let mut rows = sqlx::query_with(&sql, args)
            .try_map(move |row: PgRow| decode(&row))
            .fetch(&mut *conn);
        let mut count = 0u64;
        let mut failed = None;
        loop {
            match rows.next().instrument(recording.span().clone()).await {
                Some(Ok(row)) => {
                    count += 1;
                    yield row;
                }
                Some(Err(err)) => {
                    failed = Some(OrmkitError::from(err));
                    break;
                }
                None => break,
            }
        }
        drop(rows);
        let result = match failed {
            Some(err) => Err(err),
            None => conn.finish().instrument(recording.span().clone()).await.map(|()| count),
        };
        recording.finish(&result, |n| *n);
        if let Db::Tx(tx) = &db {
            tx.record_outcome(&result);
        }
        drop(route);
        result?;
    }
    .boxed()
}

/// Streams binary COPY data into `statement` (a `COPY … FROM STDIN`) on `conn` (a
/// connection to `endpoint`): `next` yields the data piece by piece (encoding goes on while
/// the server works on what was sent), `Ok(None)` at the end; it is handed the buffer of the
/// piece sent before, emptied, to encode the next one into. The number of rows written; on an
/// encoding error the COPY is aborted and the error returned.
#[cfg(feature = "parallel")]
pub(crate) async fn copy_in<E>(
    conn: &mut PgConnection,
    endpoint: Endpoint,
    statement: Statement,
    mut next: impl FnMut(Vec<u8>) -> std::result::Result<Option<Vec<u8>>, E> + Send,
) -> Result<std::result::Result<u64, E>>
where
    E: std::fmt::Display + Send,
{
    let recording = Recording::start(
        statement.table,
        statement.op,
        PoolTag::Primary,
        &statement.sql,
        || endpoint,
    );
    let result: Result<std::result::Result<u64, E>> = async {
        let mut copy = conn.copy_in_raw(&statement.sql).await?;
        let mut spare = Vec::new();
        loop {
            match next(std::mem::take(&mut spare)) {
                Ok(Some(data)) => {
                    copy.send(data.as_slice()).await?;
                    spare = data;
                    spare.clear();
                }
                Ok(None) => return Ok(Ok(copy.finish().await?)),
                Err(err) => {
                    copy.abort(format!("ormkit: {err}")).await?;
                    return Ok(Err(err));
                }
            }
        }
    }
    .instrument(recording.span().clone())
    .await;
    recording.finish(&result, |r| *r.as_ref().unwrap_or(&0));
    result
}
