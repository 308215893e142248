//! Raw SQL through a [`Cluster`]: it is a `sqlx::Executor` that sends everything to the
//! primary (SQL text says nothing ormkit can trust about whether it writes), and counts each
//! statement in the handle's token. [`Cluster::reader`] is the pool for raw SQL known to
//! only read.

use super::Cluster;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt as _;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, Postgres};

impl<'c> Executor<'c> for &'c Cluster {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let write = self.writing();
        self.primary()
            .fetch_many(query)
            .map(move |item| {
                // The guard lives as long as the stream: dropped with it, it marks the write.
                let _ = &write;
                item
            })
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        Box::pin(async move {
            let _write = self.writing();
            self.primary().fetch_optional(query).await
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.primary().prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.primary().describe(sql)
    }
}
