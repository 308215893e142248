//! [`ValueType`]: every Rust type a column can have, with and without NULL. The query
//! builder uses it to give a left-joined column the type `Option<T>` (not
//! `Option<Option<T>>` when the column is nullable already) and to compare two expressions
//! whose types differ only in nullability.

use crate::entity::{Entity, Position};
use crate::meta::EntityMeta;
use sqlx::postgres::PgRow;
use sqlx::{Row as _, ValueRef as _};

/// A column value type, and its forms with and without NULL: `String` and `Option<String>`
/// share the [`NotNull`](ValueType::NotNull) type `String` and the
/// [`Nullable`](ValueType::Nullable) type `Option<String>`.
///
/// Implemented for every type ormkit maps a column to, for typed IDs, arrays, and (by the
/// code generator's macros) generated enums and composite types. A type given to a column
/// by an override needs it too, to be joined or compared with other columns:
/// `ormkit::value_type!(my::Money);` in the crate that defines `my::Money`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column value type ormkit knows",
    note = "for a type given by a column override, add `ormkit::value_type!(YourType);` beside its definition"
)]
pub trait ValueType: 'static {
    /// The type without NULL (`T` for both `T` and `Option<T>`).
    type NotNull: ValueType<NotNull = Self::NotNull>;
    /// The type with NULL (`Option<T>` for both `T` and `Option<T>`).
    type Nullable: ValueType<NotNull = Self::NotNull>;
}

impl<T: ValueType<NotNull = T>> ValueType for Option<T> {
    type NotNull = T;
    type Nullable = Option<T>;
}

/// Implements [`ValueType`] for types that are never NULL themselves: a column of the type
/// is `T` when NOT NULL and `Option<T>` when nullable.
///
/// ```ignore
/// ormkit::value_type!(Money, Percent);
/// ```
#[macro_export]
macro_rules! value_type {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::ValueType for $ty {
            type NotNull = $ty;
            type Nullable = ::core::option::Option<$ty>;
        })*
    };
}

value_type!(
    bool,
    i8,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    rust_decimal::Decimal,
    uuid::Uuid,
    serde_json::Value,
    ipnetwork::IpNetwork,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::NaiveDateTime,
    time::Date,
    time::Time,
    time::PrimitiveDateTime,
    time::OffsetDateTime,
    sqlx::postgres::types::PgInterval,
    sqlx::postgres::types::PgMoney,
    sqlx::postgres::types::Oid,
    sqlx::postgres::types::PgPoint,
    sqlx::postgres::types::PgLine,
    sqlx::postgres::types::PgLSeg,
    sqlx::postgres::types::PgBox,
    sqlx::postgres::types::PgPath,
    sqlx::postgres::types::PgPolygon,
    sqlx::postgres::types::PgCircle,
    sqlx::postgres::types::PgHstore,
    sqlx::postgres::types::PgLTree,
    sqlx::postgres::types::PgLQuery,
    sqlx::postgres::types::PgCiText,
);

impl<Tz: chrono::TimeZone + 'static> ValueType for chrono::DateTime<Tz> {
    type NotNull = Self;
    type Nullable = Option<Self>;
}

impl<T: 'static> ValueType for Vec<T> {
    type NotNull = Self;
    type Nullable = Option<Self>;
}

impl<T: 'static> ValueType for sqlx::postgres::types::PgRange<T> {
    type NotNull = Self;
    type Nullable = Option<Self>;
}

impl<T: 'static, Tz: 'static> ValueType for sqlx::postgres::types::PgTimeTz<T, Tz> {
    type NotNull = Self;
    type Nullable = Option<Self>;
}

impl<T: 'static> ValueType for sqlx::types::Json<T> {
    type NotNull = Self;
    type Nullable = Option<Self>;
}

impl<E: 'static, T: 'static> ValueType for crate::Id<E, T> {
    type NotNull = Self;
    type Nullable = Option<Self>;
}

/// Whether a column, in a query, can be NULL where its table says it cannot: a table on the
/// nullable side of a left join is [`Nullable`], others [`AsDeclared`].
pub trait Nullness: 'static {
    /// A column of type `T` as the query returns it.
    type Apply<T: ValueType>: ValueType<NotNull = T::NotNull>;
    /// A whole row of `E` as the query returns it: `E`, or `Option<E>`.
    type Row<E: Entity>: Send + Unpin + 'static;
    /// Whether the table is on the nullable side of an outer join.
    const NULLABLE: bool;
    /// Reads a row of `E` from `row` at `at`.
    #[doc(hidden)]
    fn read<E: Entity>(row: &PgRow, at: &mut Position) -> Result<Self::Row<E>, sqlx::Error>;
}

/// A table whose columns keep their declared nullability (the query's first table, and inner
/// joins).
#[derive(Debug, Clone, Copy)]
pub enum AsDeclared {}

/// A table on the nullable side of a left join: each of its columns may be NULL.
#[derive(Debug, Clone, Copy)]
pub enum Nullable {}

impl Nullness for AsDeclared {
    type Apply<T: ValueType> = T;
    type Row<E: Entity> = E;
    const NULLABLE: bool = false;

    fn read<E: Entity>(row: &PgRow, at: &mut Position) -> Result<E, sqlx::Error> {
        E::read_at(row, at)
    }
}

impl Nullness for Nullable {
    type Apply<T: ValueType> = T::Nullable;
    type Row<E: Entity> = Option<E>;
    const NULLABLE: bool = true;

    fn read<E: Entity>(row: &PgRow, at: &mut Position) -> Result<Option<E>, sqlx::Error> {
        read_optional(row, at)
    }
}

/// How a row of a left-joined table tells that it is there: one of its NOT NULL columns
/// (its index) is not NULL, or, for a table without one (a view), a marker the statement
/// selects after the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Column(usize),
    Marker,
}

impl Presence {
    pub(crate) fn of(meta: &EntityMeta) -> Presence {
        match meta.columns.iter().position(|c| !c.nullable) {
            Some(i) => Presence::Column(i),
            None => Presence::Marker,
        }
    }
}

/// The name of the marker column (see [`Presence::Marker`]).
#[cfg_attr(not(feature = "orm"), allow(dead_code))]
pub(crate) const PRESENT: &str = "ormkit.present";

/// A row of a left-joined `E`, or `None` where the join found none.
fn read_optional<E: Entity>(row: &PgRow, at: &mut Position) -> Result<Option<E>, sqlx::Error> {
    let width = E::META.columns.len();
    let start = at.index();
    match Presence::of(E::META) {
        Presence::Column(i) => {
            if row.try_get_raw(start + i)?.is_null() {
                at.skip(width);
                return Ok(None);
            }
            E::read_at(row, at).map(Some)
        }
        Presence::Marker => {
            let present: Option<bool> = row.try_get(start + width)?;
            if present != Some(true) {
                at.skip(width + 1);
                return Ok(None);
            }
            let entity = E::read_at(row, at)?;
            at.skip(1);
            Ok(Some(entity))
        }
    }
}
