//! Helpers the generated `sqlx::Type` impls of enums and composite types call.
//!
//! sqlx compares a declared type name with the name PostgreSQL prints for a column's type
//! (`oid::regtype::text`): unqualified for types on the search path, `schema.name` otherwise,
//! quoted where needed. A generated type accepts both forms.

use ormkit_schema::quote_ident_if_needed;
use sqlx::postgres::{PgTypeInfo, PgTypeKind};
use sqlx::TypeInfo as _;

/// Whether `ty` is the type `schema.name`.
pub fn type_matches(ty: &PgTypeInfo, schema: &str, name: &str) -> bool {
    let printed = ty.name();
    let bare = quote_ident_if_needed(name);
    printed == bare || printed == format!("{}.{bare}", quote_ident_if_needed(schema))
}

/// Whether `ty` is an array of the type `schema.name`.
pub fn array_matches(ty: &PgTypeInfo, schema: &str, name: &str) -> bool {
    match ty.kind() {
        PgTypeKind::Array(element) => type_matches(element, schema, name),
        _ => {
            let printed = ty.name();
            printed
                .strip_suffix("[]")
                .or_else(|| printed.strip_prefix('_'))
                .is_some_and(|base| {
                    base == quote_ident_if_needed(name)
                        || base
                            == format!(
                                "{}.{}",
                                quote_ident_if_needed(schema),
                                quote_ident_if_needed(name)
                            )
                })
        }
    }
}

/// A label that is not one of an enum's variants came from the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{label}` is not a label of enum {type_name}")]
pub struct UnknownLabel {
    /// The enum's SQL name.
    pub type_name: &'static str,
    /// The label received.
    pub label: String,
}

/// A composite type's field value, encoded with the field's declared type (a binary record
/// must carry each field's exact type: a `String` sent for a `varchar` field is refused).
pub struct FieldValue<'a, T> {
    value: &'a T,
    type_name: &'static str,
}

impl<'a, T> FieldValue<'a, T> {
    /// `value` for a field of SQL type `type_name` (anything `::regtype` accepts).
    pub fn new(value: &'a T, type_name: &'static str) -> Self {
        FieldValue { value, type_name }
    }
}

impl<T: sqlx::Type<sqlx::Postgres>> sqlx::Type<sqlx::Postgres> for FieldValue<'_, T> {
    fn type_info() -> PgTypeInfo {
        T::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        T::compatible(ty)
    }
}

impl<'q, T: sqlx::Encode<'q, sqlx::Postgres>> sqlx::Encode<'q, sqlx::Postgres>
    for FieldValue<'_, T>
{
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        self.value.encode_by_ref(buf)
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(PgTypeInfo::with_name(self.type_name))
    }

    fn size_hint(&self) -> usize {
        self.value.size_hint()
    }
}
