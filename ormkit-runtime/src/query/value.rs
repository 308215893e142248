//! Values bound as parameters, and which Rust values a column of type `T` accepts.

use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments as _, Encode, Postgres, Type};

/// A value waiting to be bound: every value in a query is a parameter, never SQL text. It is
/// bound by reference, so a query can be rendered (to see its SQL) without being used up.
pub(crate) trait BindValue: Send {
    fn bind(&self, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

impl<T> BindValue for T
where
    T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send + 'static,
{
    fn bind(&self, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.add(self)
    }
}

/// A Rust value usable where a column of type `T` is compared or set: `T` itself, `&str`
/// for text columns, `Option<&str>` for nullable ones. A nullable column (`Option<T>`)
/// accepts only `Option`s, so forgetting that a column may be NULL does not compile; the
/// same rule holds for every operator (`eq`, `like`, `gt`, `set`, …).
#[diagnostic::on_unimplemented(
    message = "a column of type `{T}` cannot be compared with or set to a `{Self}`",
    label = "expected a value of the column's type `{T}`",
    note = "nullable columns take `Option<_>` values (`Some(\"x\")`), in every operator, `like` included; typed IDs (`UserId`) are not interchangeable"
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
