//! The typed query builder: `User::query().filter(users::EMAIL.eq("a@b.c"))
//! .order_by(users::CREATED_AT.desc()).limit(20).fetch_all(&pool)`, joins along relations
//! or on typed conditions, selections and aggregates, subqueries, row locks.
//!
//! A query's source type says which tables it reads ([`source`]); a column of any other
//! table, a value of the wrong type, a left-joined column read as if never NULL or an
//! aggregate of the wrong type does not compile. What the types cannot say (a selected
//! column neither grouped nor aggregated) is refused before anything is sent.
//!
//! A tour, run against PostgreSQL as part of the tests (on the entities generated from
//! ormkit's reference schema):
//!
//! ```
//! # use ormkit_tests::entities::*;
//! # use ormkit_tests::support::TestDb;
//! use ormkit::query::{count_of, lower, max, not_exists, Alias};
//! use ormkit::Repository;
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! # let db = TestDb::new().await?;
//! # let pool = &db.pool;
//! # let ada = Repository::<User>::new(pool).insert(NewUser::new("ada@example.com".into())).await?;
//! # Repository::<User>::new(pool).insert(NewUser::new("bob@example.com".into())).await?;
//! # Repository::<Post>::new(pool).insert(NewPost::new(ada.id, "Hello".into())).await?;
//!
//! // A join along a relation: each post with its author.
//! let pairs: Vec<(Post, User)> = Post::query()
//!     .inner_join(posts::AUTHOR)
//!     .filter(users::EMAIL.eq("ADA@example.com")) // citext: compared case-insensitively
//!     .fetch_all(pool)
//!     .await?;
//! assert_eq!(pairs[0].1.email, "ada@example.com");
//!
//! // A left join: the missing side is `None`, its columns `Option`s.
//! let rows: Vec<(String, Option<String>)> = User::query()
//!     .left_join(users::POSTS)
//!     .order_by(users::EMAIL.asc())
//!     .select((users::EMAIL, posts::TITLE))
//!     .fetch_all(pool)
//!     .await?;
//! assert_eq!(rows[1], ("bob@example.com".to_owned(), None));
//!
//! // A report: posts per user, zero for users without any; aggregates have PostgreSQL's
//! // result types (`count` an `i64`, `max` an `Option` since a group may have no value).
//! let report: Vec<(String, i64, Option<String>)> = User::query()
//!     .left_join(users::POSTS)
//!     .group_by(users::ID)
//!     .order_by(lower(users::EMAIL).asc())
//!     .select((users::EMAIL, count_of(posts::ID), max(posts::TITLE)))
//!     .fetch_all(pool)
//!     .await?;
//! assert_eq!(report[1].1, 0);
//!
//! // A correlated subquery: users without a post.
//! let quiet: Vec<String> = User::query()
//!     .filter(not_exists(Post::subquery().filter(posts::AUTHOR_ID.eq(users::ID))))
//!     .select(users::EMAIL)
//!     .fetch_all(pool)
//!     .await?;
//! assert_eq!(quiet, ["bob@example.com"]);
//!
//! // A self-join through an alias: each post with its parent's title, if any.
//! type Parent = Alias<Post, 1>;
//! let threads: Vec<(String, Option<String>)> = Post::query()
//!     .left_join_on::<Parent>(posts::PARENT_ID.eq(Parent::col(posts::ID)))
//!     .select((posts::TITLE, Parent::col(posts::TITLE)))
//!     .fetch_all(pool)
//!     .await?;
//! assert_eq!(threads, [("Hello".to_owned(), None)]);
//! # anyhow::Ok(())
//! # })?;
//! # anyhow::Ok(())
//! ```

mod condition;
pub mod func;
pub mod join;
pub mod load;
mod node;
pub mod ops;
mod page;
pub mod project;
mod render;
mod scalar;
pub mod select;
pub mod source;
pub mod subquery;
pub mod value;
mod write;
mod writer;

pub use crate::entity::SqlValue;
// Shown as re-exports of `expr`/`expression`, as before their files were renamed.
#[doc(no_inline)]
pub use condition::Expr;
#[doc(no_inline)]
pub use scalar::{Expression, MaybeNull, Operand, Scalar};

/// [`Expr`]: a typed condition over the tables of a query (kept at this path; the code is in
/// `condition.rs`).
pub mod expr {
    pub use super::condition::Expr;
}

/// Typed expressions: a [`Column`](crate::Column) or a computed [`Scalar`] has a Rust type in a
/// query's source ([`Expression`]); where a value of type `T` is expected, an [`Operand`] is
/// either an expression of `T`'s type (nullability aside) or a Rust value converted to `T` and
/// bound (kept at this path; the code is in `scalar.rs`).
pub mod expression {
    pub use super::scalar::*;
}
pub use func::{
    aggregate, avg, coalesce, count, count_distinct, count_of, date_trunc, func, lower, max, min,
    sum, upper, Averageable, Call, DateUnit, Summable,
};
pub use join::JoinRelation;
pub use load::{Load, Nest, Related, With};
pub use ops::{AssignTo, Assignment, Order, SqlArray, SqlContains};
pub use page::{CursorPage, Page};
pub use project::{all, SelectItem, Selection};
#[allow(deprecated)]
pub use select::SqlText;
pub use select::{Select, SelectSql};
pub use source::{Alias, QueryTable, Source};
pub use subquery::{exists, not_exists, scalar, sub};
pub use value::IntoValue;
pub use write::InsertColumns;
