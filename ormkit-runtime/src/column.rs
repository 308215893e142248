//! Typed columns: `users::EMAIL` is a `Column<User, String>`, so a value of the wrong type, a
//! column of another table, or ordering by a type without an order does not compile.

use crate::query::expr::{Expr, Node};
use crate::query::value::{IntoValue, SqlValue};
use sqlx::postgres::PgHasArrayType;
use std::fmt;
use std::marker::PhantomData;

/// Marks a column the application may write.
#[derive(Debug, Clone, Copy)]
pub enum Writable {}

/// Marks a column only the database writes (identity ALWAYS, generated, view columns).
#[derive(Debug, Clone, Copy)]
pub enum ReadOnly {}

/// A column of entity `E` holding values of Rust type `T` (`Option<_>` when nullable);
/// `A` is [`Writable`] or [`ReadOnly`].
pub struct Column<E, T, A = Writable> {
    name: &'static str,
    _marker: PhantomData<fn() -> (E, T, A)>,
}

impl<E, T, A> Column<E, T, A> {
    /// The column called `name` (its exact SQL name). Generated code calls this.
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            _marker: PhantomData,
        }
    }

    /// The column's exact SQL name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<E, T, A> Clone for Column<E, T, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, T, A> Copy for Column<E, T, A> {}

impl<E, T, A> fmt::Debug for Column<E, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Column").field(&self.name).finish()
    }
}

/// Types PostgreSQL orders (btree): numbers, text, times, UUIDs, enums, typed IDs, and
/// `Option`s of them. JSON, composite types and geometry are not, so ordering or ranging by
/// them does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no ordering that ormkit can sort or compare by",
    note = "order_by, gt/gte/lt/lte and between need a column of an ordered type"
)]
pub trait SqlOrd {}

macro_rules! sql_ord {
    ($($t:ty),* $(,)?) => { $(impl SqlOrd for $t {})* };
}
sql_ord!(
    bool,
    i8,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    Vec<u8>,
    rust_decimal::Decimal,
    uuid::Uuid,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::NaiveDateTime,
    time::Date,
    time::Time,
    time::PrimitiveDateTime,
    time::OffsetDateTime,
    ipnetwork::IpNetwork,
    sqlx::postgres::types::PgInterval,
    sqlx::postgres::types::PgMoney,
    sqlx::postgres::types::Oid,
);
impl<Tz: chrono::TimeZone> SqlOrd for chrono::DateTime<Tz> {}
impl<T: SqlOrd> SqlOrd for Option<T> {}
impl<E, T: SqlOrd> SqlOrd for crate::Id<E, T> {}

/// Text types, for `like` and `ilike`.
#[diagnostic::on_unimplemented(message = "`like`/`ilike` need a text column, not `{Self}`")]
pub trait SqlText {}
impl SqlText for String {}
impl SqlText for Option<String> {}

/// One direction of an `ORDER BY`.
pub struct Order<E> {
    pub(crate) column: &'static str,
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
        write!(f, "Order({} {dir})", self.column)
    }
}

/// `SET column = value` in an update by filter.
pub struct Assignment<E> {
    pub(crate) column: &'static str,
    pub(crate) value: Box<dyn crate::query::value::BindValue>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Assignment<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Assignment").field(&self.column).finish()
    }
}

impl<E, T: SqlValue, A> Column<E, T, A> {
    fn compare(self, op: &'static str, value: T) -> Expr<E> {
        Expr::new(Node::Compare {
            column: self.name,
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
            column: self.name,
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
            column: self.name,
            values: Box::new(values),
            negated: true,
        })
    }
}

impl<E, T: SqlValue + SqlOrd, A> Column<E, T, A> {
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
            column: self.name,
            low: Box::new(low.into_value()),
            high: Box::new(high.into_value()),
        })
    }
}

impl<E, T: SqlOrd, A> Column<E, T, A> {
    /// `ORDER BY column ASC`.
    pub fn asc(self) -> Order<E> {
        Order {
            column: self.name,
            descending: false,
            _entity: PhantomData,
        }
    }

    /// `ORDER BY column DESC`.
    pub fn desc(self) -> Order<E> {
        Order {
            column: self.name,
            descending: true,
            _entity: PhantomData,
        }
    }
}

impl<E, T: SqlValue + SqlText, A> Column<E, T, A> {
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
            column: self.name,
            op,
            value: Box::new(pattern),
        })
    }
}

impl<E, T, A> Column<E, Option<T>, A> {
    /// `column IS NULL` (nullable columns only).
    pub fn is_null(self) -> Expr<E> {
        Expr::new(Node::IsNull {
            column: self.name,
            negated: false,
        })
    }

    /// `column IS NOT NULL` (nullable columns only).
    pub fn is_not_null(self) -> Expr<E> {
        Expr::new(Node::IsNull {
            column: self.name,
            negated: true,
        })
    }
}

impl<E: crate::Table, T: SqlValue> Column<E, T, Writable> {
    /// `SET column = value`, for [`Select::update`](crate::Select::update). Read-only columns
    /// (identity ALWAYS, generated, views) have no `set`.
    pub fn set(self, value: impl IntoValue<T>) -> Assignment<E> {
        Assignment {
            column: self.name,
            value: Box::new(value.into_value()),
            _entity: PhantomData,
        }
    }
}
