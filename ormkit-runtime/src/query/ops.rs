//! The operators of typed columns: comparisons, `IN`, `BETWEEN`, `LIKE`, `IS NULL`,
//! ordering and assignments, each available only for column types that support it.

use super::expr::{Expr, Node};
use super::value::IntoValue;
use crate::column::{Column, SqlOrd, SqlText, Writable};
use crate::entity::Entity;
use crate::entity::SqlValue;
use crate::meta::ColumnMeta;
use sqlx::postgres::PgHasArrayType;
use std::fmt;
use std::marker::PhantomData;

/// One direction of an `ORDER BY`.
pub struct Order<E> {
    pub(crate) column: &'static ColumnMeta,
    pub(crate) descending: bool,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Order<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Order<E> {}

impl<E> fmt::Debug for Order<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = if self.descending { "DESC" } else { "ASC" };
        write!(f, "Order({} {dir})", self.column.name)
    }
}

/// `SET column = value` in an update by filter.
pub struct Assignment<E> {
    pub(crate) column: &'static ColumnMeta,
    pub(crate) value: Box<dyn crate::query::value::BindValue>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Assignment<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Assignment")
            .field(&self.column.name)
            .finish()
    }
}

impl<E: Entity, T: SqlValue, A> Column<E, T, A> {
    fn compare(self, op: &'static str, value: T) -> Expr<E> {
        Expr::new(Node::Compare {
            column: self.meta(),
            op,
            value: Box::new(value),
        })
    }

    /// `column = value`.
    pub fn eq(self, value: impl IntoValue<T>) -> Expr<E> {
        self.compare("=", value.into_value())
    }

    /// `column <> value`.
    pub fn ne(self, value: impl IntoValue<T>) -> Expr<E> {
        self.compare("<>", value.into_value())
    }

    /// `column = ANY($1)`: one array parameter, whatever the number of values.
    pub fn is_in<V: IntoValue<T>>(self, values: impl IntoIterator<Item = V>) -> Expr<E>
    where
        T: PgHasArrayType,
    {
        let values: Vec<T> = values.into_iter().map(IntoValue::into_value).collect();
        Expr::new(Node::Any {
            column: self.meta(),
            values: Box::new(values),
            negated: false,
        })
    }

    /// `column <> ALL($1)`.
    pub fn not_in<V: IntoValue<T>>(self, values: impl IntoIterator<Item = V>) -> Expr<E>
    where
        T: PgHasArrayType,
    {
        let values: Vec<T> = values.into_iter().map(IntoValue::into_value).collect();
        Expr::new(Node::Any {
            column: self.meta(),
            values: Box::new(values),
            negated: true,
        })
    }
}

impl<E: Entity, T: SqlValue + SqlOrd, A> Column<E, T, A> {
    /// `column > value`.
    pub fn gt(self, value: impl IntoValue<T>) -> Expr<E> {
        self.compare(">", value.into_value())
    }

    /// `column >= value`.
    pub fn gte(self, value: impl IntoValue<T>) -> Expr<E> {
        self.compare(">=", value.into_value())
    }

    /// `column < value`.
    pub fn lt(self, value: impl IntoValue<T>) -> Expr<E> {
        self.compare("<", value.into_value())
    }

    /// `column <= value`.
    pub fn lte(self, value: impl IntoValue<T>) -> Expr<E> {
        self.compare("<=", value.into_value())
    }

    /// `column BETWEEN low AND high`.
    pub fn between(self, low: impl IntoValue<T>, high: impl IntoValue<T>) -> Expr<E> {
        Expr::new(Node::Between {
            column: self.meta(),
            low: Box::new(low.into_value()),
            high: Box::new(high.into_value()),
        })
    }
}

impl<E: Entity, T: SqlOrd, A> Column<E, T, A> {
    /// `ORDER BY column ASC`.
    pub fn asc(self) -> Order<E> {
        Order {
            column: self.meta(),
            descending: false,
            _entity: PhantomData,
        }
    }

    /// `ORDER BY column DESC`.
    pub fn desc(self) -> Order<E> {
        Order {
            column: self.meta(),
            descending: true,
            _entity: PhantomData,
        }
    }
}

impl<E: Entity, T: SqlValue + SqlText, A> Column<E, T, A> {
    /// `column LIKE pattern` (a bound parameter; `%` and `_` are the pattern's).
    pub fn like(self, pattern: impl Into<String>) -> Expr<E> {
        self.pattern("LIKE", pattern.into())
    }

    /// `column ILIKE pattern`.
    pub fn ilike(self, pattern: impl Into<String>) -> Expr<E> {
        self.pattern("ILIKE", pattern.into())
    }

    fn pattern(self, op: &'static str, pattern: String) -> Expr<E> {
        Expr::new(Node::Compare {
            column: self.meta(),
            op,
            value: Box::new(pattern),
        })
    }
}

impl<E: Entity, T, A> Column<E, Option<T>, A> {
    /// `column IS NULL` (nullable columns only).
    pub fn is_null(self) -> Expr<E> {
        Expr::new(Node::IsNull {
            column: self.meta(),
            negated: false,
        })
    }

    /// `column IS NOT NULL` (nullable columns only).
    pub fn is_not_null(self) -> Expr<E> {
        Expr::new(Node::IsNull {
            column: self.meta(),
            negated: true,
        })
    }
}

impl<E: crate::Table, T: SqlValue> Column<E, T, Writable> {
    /// `SET column = value`, for [`Select::update`](crate::Select::update). Read-only columns
    /// (identity ALWAYS, generated, views) have no `set`.
    pub fn set(self, value: impl IntoValue<T>) -> Assignment<E> {
        Assignment {
            column: self.meta(),
            value: Box::new(value.into_value()),
            _entity: PhantomData,
        }
    }
}
