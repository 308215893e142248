//! The router: which pool a statement through a [`Cluster`] handle goes to.
//!
//! - Anything that is not a read (`Op::is_read`: writes, locking reads, checked queries
//!   that write or lock) goes to the primary, and afterwards the handle's token must cover
//!   it ([`super::session`]).
//! - A read goes to the next replica, round robin, that is in the rotation and has replayed
//!   the handle's token; with none, to the primary.
//! - A read that fails on a replica in a way the primary would not fail (the connection, no
//!   connection in time, a recovery conflict) is sent to the primary instead, and the replica
//!   leaves the rotation until a probe finds it well: the caller sees no error.

use super::replica::Replica;
use super::Cluster;
use crate::db::{Conn, Db, PoolTag};
use crate::error::{OrmkitError, Result};
use crate::statement::exec::{on_pool, send, Fetch, Sent};
use crate::statement::Op;
use sqlx::postgres::PgArguments;
use std::sync::atomic::Ordering;

impl Cluster {
    /// Runs one statement where the router sends it.
    pub(crate) async fn run<F: Fetch>(
        &self,
        sent: Sent<'_>,
        with: F::With,
        args: PgArguments,
    ) -> Result<F> {
        if !sent.op.is_read() {
            let _write = self.writing();
            return send(self.primary_target(), sent, with, args).await;
        }
        let Some(replica) = self.pick() else {
            return on_pool(self.primary_target(), sent, with, args).await;
        };
        let fallback = args.clone();
        let target = replica.target(self.core.options.probe_timeout);
        match send(target, sent, with, args).await {
            Err(err) if falls_back(&err) => {
                replica.read_failed(&err);
                on_pool(self.primary_target(), sent, with, fallback).await
            }
            result => result,
        }
    }

    /// The replica that may serve a read through this handle now, if any: the next in the
    /// rotation that has replayed the handle's token.
    pub(crate) fn pick(&self) -> Option<&Replica> {
        let replicas = &self.core.replicas;
        if replicas.is_empty() {
            return None;
        }
        let token = self.session.token(&self.core.clock)?;
        let start = self.core.next.fetch_add(1, Ordering::Relaxed);
        (0..replicas.len())
            .map(|i| &replicas[(start + i) % replicas.len()])
            .find(|replica| replica.serves(token))
    }
}

/// Whether a read that failed on a replica may succeed on the primary: the replica's
/// connection failed or none came in time, or the standby cancelled it to replay WAL
/// (40001 and 40P01 are what recovery conflicts report).
fn falls_back(err: &OrmkitError) -> bool {
    err.is_connection_failure()
        || matches!(
            err,
            OrmkitError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
                | OrmkitError::Connect { .. }
                | OrmkitError::PoolExhausted { .. }
        )
        || matches!(err.sqlstate().as_deref(), Some("40001" | "40P01"))
}

/// Where a streamed statement goes: for a read through a cluster, a replica picked when the
/// stream starts (the primary when its connection cannot be had); for a write through a
/// cluster, the primary, with the handle's token covering it once the stream ends;
/// otherwise where the `Db` is.
pub(crate) struct StreamRoute<'r, 'a> {
    db: &'r Db<'a>,
    replica: Option<&'r Replica>,
    _write: Option<super::session::WriteGuard<'r>>,
}

impl<'r, 'a> StreamRoute<'r, 'a> {
    pub(crate) fn new(db: &'r Db<'a>, op: Op) -> Self {
        let (replica, write) = match db {
            Db::Cluster(cluster) if op.is_read() => (cluster.pick(), None),
            Db::Cluster(cluster) => (None, Some(cluster.writing())),
            _ => (None, None),
        };
        StreamRoute {
            db,
            replica,
            _write: write,
        }
    }

    /// The pool the stream is meant for.
    pub(crate) fn tag(&self) -> PoolTag {
        match self.replica {
            Some(_) => PoolTag::Replica,
            None => PoolTag::Primary,
        }
    }

    /// The server the stream starts for: the replica's, or the primary's.
    pub(crate) fn endpoint(&self) -> crate::statement::span::Endpoint {
        match self.replica {
            Some(replica) => crate::statement::span::Endpoint::of(&replica.pool),
            None => self.db.endpoint(),
        }
    }

    /// The stream's connection, and the pool it came from.
    pub(crate) async fn connection(&self) -> Result<(Conn<'r, 'a>, PoolTag)> {
        if let (Some(replica), Db::Cluster(cluster)) = (self.replica, self.db) {
            match replica
                .target(cluster.core.options.probe_timeout)
                .connection()
                .await
            {
                Ok(conn) => return Ok((conn, PoolTag::Replica)),
                Err(err) if falls_back(&err) => replica.read_failed(&err),
                Err(err) => return Err(err),
            }
        }
        Ok((self.db.target().connection().await?, PoolTag::Primary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fall_back_on_failures_the_primary_does_not_share() {
        let io = OrmkitError::Database(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()));
        assert!(falls_back(&io));
        assert!(falls_back(&OrmkitError::Database(
            sqlx::Error::PoolTimedOut
        )));
        assert!(falls_back(&OrmkitError::Database(sqlx::Error::PoolClosed)));
        // A query's own error would fail on the primary too.
        assert!(!falls_back(&OrmkitError::Database(
            sqlx::Error::RowNotFound
        )));
        assert!(!falls_back(&OrmkitError::Query {
            table: "t".into(),
            message: "bad cursor".into(),
        }));
    }
}
