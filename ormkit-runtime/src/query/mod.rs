//! The typed query builder: `User::query().filter(users::EMAIL.eq("a@b.c"))
//! .order_by(users::CREATED_AT.desc()).limit(20).fetch_all(&pool)`, joins along relations
//! or on typed conditions, selections and aggregates, subqueries, row locks.
//!
//! A query's source type says which tables it reads ([`source`]); a column of any other
//! table, a value of the wrong type, a left-joined column read as if never NULL or an
//! aggregate of the wrong type does not compile. What the types cannot say (a selected
//! column neither grouped nor aggregated) is refused before anything is sent.

pub mod expr;
pub mod expression;
pub mod func;
pub mod join;
pub mod load;
mod node;
pub mod ops;
mod page;
pub mod project;
mod render;
pub mod select;
pub mod source;
pub mod subquery;
pub mod value;
mod write;

pub use crate::entity::SqlValue;
pub use expr::Expr;
pub use expression::{Expression, MaybeNull, Operand, Scalar};
pub use func::{
    aggregate, avg, coalesce, count, count_distinct, count_of, date_trunc, func, lower, max, min,
    sum, upper, Averageable, Call, DateUnit, Summable,
};
pub use join::JoinRelation;
pub use load::{Load, Nest, Related, With};
pub use ops::{AssignTo, Assignment, Order, SqlArray, SqlContains};
pub use page::{CursorPage, Page};
pub use project::{all, SelectItem, Selection};
pub use select::{Select, SqlText};
pub use source::{Alias, QueryTable, Source};
pub use subquery::{exists, not_exists, scalar, sub};
pub use value::IntoValue;
pub use write::InsertColumns;
