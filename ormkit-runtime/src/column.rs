//! Typed columns: `users::EMAIL` is a `Column<User, String>`, so a value of the wrong type, a
//! column of another table, or ordering by a type without an order does not compile.

use crate::entity::Entity;
use crate::meta::ColumnMeta;
use std::fmt;
use std::marker::PhantomData;

/// Marks a column the application may write.
#[derive(Debug, Clone, Copy)]
pub enum Writable {}

/// Marks a column only the database writes (identity ALWAYS, generated, view columns).
#[derive(Debug, Clone, Copy)]
pub enum ReadOnly {}

/// The variance and auto-trait carrier of a column: owns nothing.
type ColumnMarker<E, T, A> = PhantomData<fn() -> (E, T, A)>;

/// A column of entity `E` holding values of Rust type `T` (`Option<_>` when nullable);
/// `A` is [`Writable`] or [`ReadOnly`].
pub struct Column<E, T, A = Writable> {
    index: usize,
    _marker: ColumnMarker<E, T, A>,
}

impl<E, T, A> Column<E, T, A> {
    /// Column number `index` of `E` (its position in [`EntityMeta::columns`]). Generated
    /// code calls this.
    ///
    /// [`EntityMeta::columns`]: crate::EntityMeta::columns
    #[doc(hidden)]
    pub const fn new(index: usize) -> Self {
        Column {
            index,
            _marker: PhantomData,
        }
    }

    /// The column's position in its entity's columns.
    pub const fn index(&self) -> usize {
        self.index
    }
}

/// A table a query reads: an entity's own table, or the same table under an alias
/// (`ormkit::query::Alias<Post, 1>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a table",
    note = "join a generated entity (`Post`) or an alias of one (`Alias<Post, 1>`)"
)]
pub trait QueryTable: 'static {
    /// The rows it holds.
    type Entity: Entity;
}

impl<E: Entity> QueryTable for E {
    type Entity = E;
}

impl<E: QueryTable, T, A> Column<E, T, A> {
    /// The column's metadata.
    pub fn meta(&self) -> &'static ColumnMeta {
        &E::Entity::META.columns[self.index]
    }

    /// The column's exact SQL name.
    pub fn name(&self) -> &'static str {
        self.meta().name
    }
}

impl<E, T, A> Clone for Column<E, T, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, T, A> Copy for Column<E, T, A> {}

impl<E: QueryTable, T, A> fmt::Debug for Column<E, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Column").field(&self.name()).finish()
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

/// Types PostgreSQL has `min` and `max` for: numbers, text, times, intervals, money,
/// network addresses, enums, typed IDs over them.
#[diagnostic::on_unimplemented(
    message = "PostgreSQL has no `min`/`max` for `{Self}`",
    note = "min and max take numbers, text, times, intervals, money, inet and enums (not bool, uuid, JSON)"
)]
pub trait SqlMinMax {}

macro_rules! sql_min_max {
    ($($t:ty),* $(,)?) => { $(impl SqlMinMax for $t {})* };
}
sql_min_max!(
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    rust_decimal::Decimal,
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
impl<Tz: chrono::TimeZone> SqlMinMax for chrono::DateTime<Tz> {}
impl<E, T: SqlMinMax> SqlMinMax for crate::Id<E, T> {}

/// Text types, for `like` and `ilike`.
#[diagnostic::on_unimplemented(message = "`like`/`ilike` need a text column, not `{Self}`")]
pub trait SqlText {}
impl SqlText for String {}
impl SqlText for Option<String> {}
