//! Values bound as parameters, and which Rust values a column of type `T` accepts.

use crate::meta::ColumnMeta;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments as _, Encode, Postgres, Type};

/// A value waiting to be bound: every value in a query is a parameter, never SQL text.
pub(crate) trait BindValue: Send {
    fn bind(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

impl<T> BindValue for T
where
    T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send + 'static,
{
    fn bind(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.add(*self)
    }
}

/// Binds `value` and returns its placeholder (`$n`).
pub(crate) fn bind(
    value: Box<dyn BindValue>,
    args: &mut PgArguments,
) -> Result<String, BoxDynError> {
    value.bind(args)?;
    Ok(format!("${}", args.len()))
}

/// Binds `value`, a value of `column`, and returns its placeholder, cast to the column's type
/// where the column asks for it (`$1::public.citext`).
pub(crate) fn placeholder(
    column: &ColumnMeta,
    value: Box<dyn BindValue>,
    args: &mut PgArguments,
) -> Result<String, BoxDynError> {
    value.bind(args)?;
    Ok(crate::statement::value(column, args.len()))
}

/// Binds `values`, an array of `column`'s values, and returns its placeholder, cast to an
/// array of the column's type where the column asks for it.
pub(crate) fn array_placeholder(
    column: &ColumnMeta,
    values: Box<dyn BindValue>,
    args: &mut PgArguments,
) -> Result<String, BoxDynError> {
    values.bind(args)?;
    Ok(match column.cast {
        Some(ty) => format!("${}::{ty}[]", args.len()),
        None => format!("${}", args.len()),
    })
}

/// A Rust value usable where a column of type `T` is compared or set: `T` itself, `&str`
/// for text columns, `Option<&str>` for nullable ones. A nullable column (`Option<T>`)
/// accepts only `Option`s, so forgetting that a column may be NULL does not compile.
#[diagnostic::on_unimplemented(
    message = "a column of type `{T}` cannot be compared with or set to a `{Self}`",
    label = "expected a value of the column's type `{T}`",
    note = "nullable columns take `Option<_>` values; typed IDs (`UserId`) are not interchangeable"
)]
pub trait IntoValue<T> {
    /// Converts to the column's type.
    fn into_value(self) -> T;
}

impl<T> IntoValue<T> for T {
    fn into_value(self) -> T {
        self
    }
}

impl IntoValue<String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}

impl IntoValue<Option<String>> for Option<&str> {
    fn into_value(self) -> Option<String> {
        self.map(str::to_owned)
    }
}
