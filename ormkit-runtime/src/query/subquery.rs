//! Subqueries: `Post::subquery()` (or [`sub`]) starts a query that may use the columns of
//! the query around it (a correlated subquery), for [`exists`], [`not_exists`],
//! `in_subquery` and [`scalar`].
//!
//! ```no_run
//! # use ormkit_tests::entities::*;
//! use ormkit::query::{count, not_exists, scalar};
//! # async fn example(pool: &ormkit::sqlx::PgPool) -> ormkit::Result<()> {
//! // Users without a post: a correlated NOT EXISTS.
//! let quiet = User::query()
//!     .filter(not_exists(Post::subquery().filter(posts::AUTHOR_ID.eq(users::ID))))
//!     .fetch_all(pool)
//!     .await?;
//! // Each user with a count from a scalar subquery.
//! let counted: Vec<(String, Option<i64>)> = User::query()
//!     .select((
//!         users::EMAIL,
//!         scalar(Post::subquery().filter(posts::AUTHOR_ID.eq(users::ID)).select(count())),
//!     ))
//!     .fetch_all(pool)
//!     .await?;
//! # Ok(())
//! # }
//! ```

use super::condition::Expr;
use super::node::{Node, SubqueryKind};
use super::render::Query;
use super::scalar::Scalar;
use super::select::Select;
use super::source::{read_row, QueryTable, Scope, Source};
use crate::entity::Entity;
use crate::value_type::ValueType;

/// A subquery over `T`, inside a query over `O` (which the compiler infers from where the
/// subquery is used), whose columns it may use: what `Post::subquery()` calls. Over the
/// same table as the outer query, use an [`Alias`](super::Alias):
/// `Alias::<Post, 1>::subquery()`.
pub fn sub<T: QueryTable, O: Source>() -> Select<Scope<T, O>> {
    Select::from_query(Query::new(T::Entity::META), read_row::<Scope<T, O>>)
}

fn subquery<I: Source, O: Source, R>(kind: SubqueryKind, query: Select<Scope<I, O>, R>) -> Node {
    Node::Subquery {
        kind,
        lhs: None,
        query: Box::new(query.query),
    }
}

/// `EXISTS (subquery)`: the subquery has a row.
pub fn exists<I: Source, O: Source, R>(query: Select<Scope<I, O>, R>) -> Expr<O> {
    Expr::new(subquery(SubqueryKind::Exists, query))
}

/// `NOT EXISTS (subquery)`: the subquery has no row.
pub fn not_exists<I: Source, O: Source, R>(query: Select<Scope<I, O>, R>) -> Expr<O> {
    Expr::new(subquery(SubqueryKind::NotExists, query))
}

/// `(subquery)`: the one value the subquery selects, NULL (`None`) when it has no row. It
/// must select one value, and give at most one row (a subquery with more rows fails with
/// SQLSTATE 21000).
pub fn scalar<I: Source, O: Source, T: ValueType>(
    query: Select<Scope<I, O>, T>,
) -> Scalar<O, T::Nullable> {
    Scalar::new(subquery(SubqueryKind::Scalar, query))
}
