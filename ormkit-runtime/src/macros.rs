//! The macros generated code is written in. `ormkit-codegen` writes the structs and enums
//! themselves as plain Rust, and describes each one's SQL side to one of these macros, which
//! expand to the impls (decoding, metadata, writing, keys, `sqlx` types): a line per column
//! instead of a dozen, and one implementation of each impl for every table.

/// Implements [`Entity`](crate::Entity) (positional `FromRow`, metadata, `query()`) for a row
/// struct, and, when the sections are given, [`Table`](crate::Table) with its insert model and
/// [`HasPrimaryKey`](crate::HasPrimaryKey) with its patch model.
///
/// ```ignore
/// ormkit::entity! {
///     User = "public"."users" (Table) {
///         id: "id" "int8".read_only().key(),
///         email: "email" "text",
///     }
///     key: ["id"],
///     insert NewUser { required: [email: String = 1] }
///     patch UserPatch (id: UserId) -> UserId { email: String = 1 }
/// }
/// ```
///
/// Columns are listed in table order (the order rows are selected and decoded in); the
/// numbers are column positions. Each patch field names the type it sets (the field is an
/// `Option` of it) and gets a setter of its own name, or of the name after `as` (a column
/// called `new` has the setter `set_new`, as `new` is the constructor). Empty sections (`key`, `foreign_keys`, `comment`, `enums`,
/// and each list of `insert`) are left out.
#[macro_export]
macro_rules! entity {
    (
        $row:ident = $schema:literal . $name:literal ($kind:ident) {
            $( $field:ident: $column:literal $sql_type:literal $(.$flag:ident($($arg:literal)?))* ),* $(,)?
        }
        $(key: [$($key:literal),* $(,)?],)?
        $(foreign_keys: [$(
            $fk:literal: [$($fk_column:literal),* $(,)?]
                => $fk_schema:literal . $fk_table:literal [$($fk_ref:literal),* $(,)?]
        ),* $(,)?],)?
        $(comment: $comment:literal,)?
        $(enums: [$($enum:path),* $(,)?],)?
        $(insert $new:ident {
            $(required: [$($req:ident: $req_ty:ty = $req_at:literal),* $(,)?] $(,)?)?
            $(nullable: [$($nul:ident = $nul_at:literal),* $(,)?] $(,)?)?
            $(defaulted: [$($def:ident = $def_at:literal),* $(,)?] $(,)?)?
        })?
        $(patch $patch:ident ($($key_field:ident: $key_ty:ty),+ $(,)?) -> $id:ty {
            $($set:ident $(as $setter:ident)?: $set_ty:ty = $set_at:literal),* $(,)?
        })?
    ) => {
        impl<'r> $crate::sqlx::FromRow<'r, $crate::sqlx::postgres::PgRow> for $row {
            fn from_row(row: &'r $crate::sqlx::postgres::PgRow) -> Result<Self, $crate::sqlx::Error> {
                <Self as $crate::Entity>::read_at(row, &mut $crate::__private::Position::default())
            }
        }

        impl $crate::Entity for $row {
            fn read_at(
                row: &$crate::sqlx::postgres::PgRow,
                at: &mut $crate::__private::Position,
            ) -> Result<Self, $crate::sqlx::Error> {
                Ok(Self { $($field: at.next(row)?,)* })
            }

            const META: &'static $crate::EntityMeta = &$crate::EntityMeta {
                schema: $schema,
                name: $name,
                kind: $crate::RelationKind::$kind,
                columns: &[$(
                    $crate::ColumnMeta::new($column, stringify!($field), $sql_type)$(.$flag($($arg)?))*
                ),*],
                primary_key: &[$($($key),*)?],
                foreign_keys: &[$($($crate::ForeignKeyMeta::new(
                    $fk,
                    &[$($fk_column),*],
                    ($fk_schema, $fk_table),
                    &[$($fk_ref),*],
                )),*)?],
                comment: $crate::__private::first(&[$($comment)?]),
                enums: &[$($(&<$enum>::META),*)?],
            };
        }

        $crate::__with_orm!($row);

        $(
            impl $new {
                /// The required columns; every optional one is `None`.
                pub fn new($($($req: $req_ty),*)?) -> Self {
                    Self { $($($req,)*)? $($($nul: None,)*)? $($($def: None,)*)? }
                }
            }

            impl $crate::InsertModel for $new {
                type Entity = $row;

                fn write<W: $crate::__private::ColumnWriter>(
                    &self,
                    _w: &mut W,
                ) -> $crate::__private::WriteResult {
                    $($(_w.set($req_at, &self.$req)?;)*)?
                    $($(_w.set($nul_at, &self.$nul)?;)*)?
                    $($(_w.set_some($def_at, &self.$def)?;)*)?
                    Ok(())
                }
            }

            impl $crate::Table for $row {
                type Insert = $new;
            }
        )?

        $(
            impl $patch {
                /// A patch of the row with this key that changes nothing yet.
                pub fn new($($key_field: $key_ty),+) -> Self {
                    Self { $($key_field,)+ $($set: None,)* }
                }

                $($crate::__patch_setter!($set $($setter)?: $set_ty);)*
            }

            impl $crate::PatchModel for $patch {
                type Entity = $row;

                fn key(&self) -> $id {
                    ($(Clone::clone(&self.$key_field)),+)
                }

                fn write<W: $crate::__private::ColumnWriter>(
                    &self,
                    _w: &mut W,
                ) -> $crate::__private::WriteResult {
                    $(_w.set_some($set_at, &self.$set)?;)*
                    Ok(())
                }
            }

            impl $crate::HasPrimaryKey for $row {
                type Id = $id;
                type Patch = $patch;

                fn id(&self) -> $id {
                    ($(Clone::clone(&self.$key_field)),+)
                }
            }
        )?
    };
}

/// One setter of a patch model (see [`entity!`]): `field: Type` or `field setter: Type`.
#[doc(hidden)]
#[macro_export]
macro_rules! __patch_setter {
    ($field:ident: $ty:ty) => {
        $crate::__patch_setter!($field $field: $ty);
    };
    ($field:ident $setter:ident: $ty:ty) => {
        #[doc = concat!("Writes `", stringify!($field), "` (sets the field to `Some(value)`).")]
        #[must_use]
        pub fn $setter(mut self, value: $ty) -> Self {
            self.$field = Some(value);
            self
        }
    };
}

/// Implements what a generated PostgreSQL enum needs: its [`EnumMeta`](crate::EnumMeta),
/// `ALL`, `as_str`, `Display`, `FromStr`, ordering and key support, and the `sqlx` type,
/// encoding and decoding, from its variants and their labels in sort order.
///
/// ```ignore
/// ormkit::pg_enum!(Mood = "public"."mood", "public.mood" { Happy = "happy", Sad = "sad" });
/// ```
#[macro_export]
macro_rules! pg_enum {
    ($ty:ident = $schema:literal . $name:literal, $regtype:literal {
        $($variant:ident = $label:literal),* $(,)?
    }) => {
        impl $ty {
            /// The type and its labels, in the enum's sort order (the variants' order).
            pub const META: $crate::EnumMeta = $crate::EnumMeta::new($schema, $name, &[$($label),*]);
            /// Every label, in the enum's sort order.
            pub const ALL: &'static [$ty] = &[$(Self::$variant),*];

            /// The label exactly as PostgreSQL stores it.
            pub const fn as_str(&self) -> &'static str {
                match *self {
                    $(Self::$variant => $label,)*
                }
            }
        }

        impl $crate::SqlOrd for $ty {}
        impl $crate::SqlMinMax for $ty {}
        impl $crate::KeyPart for $ty {}

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::UnknownLabel;

            fn from_str(label: &str) -> Result<Self, Self::Err> {
                match label {
                    $($label => Ok(Self::$variant),)*
                    other => Err($crate::UnknownLabel {
                        type_name: $regtype,
                        label: other.to_owned(),
                    }),
                }
            }
        }

        $crate::__sql_type!($ty = $schema . $name, $regtype);

        impl $crate::sqlx::Encode<'_, $crate::sqlx::Postgres> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::sqlx::postgres::PgArgumentBuffer,
            ) -> Result<$crate::sqlx::encode::IsNull, $crate::sqlx::error::BoxDynError> {
                <&str as $crate::sqlx::Encode<'_, $crate::sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> $crate::sqlx::Decode<'r, $crate::sqlx::Postgres> for $ty {
            fn decode(
                value: $crate::sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, $crate::sqlx::error::BoxDynError> {
                Ok(value.as_str()?.parse::<Self>()?)
            }
        }
    };
}

/// Implements the `sqlx` type, encoding and decoding of a generated composite type: a binary
/// record whose fields are encoded with their declared SQL types (quoted, qualified names).
/// The second literal is the type's name as PostgreSQL reads it (`public.address`).
///
/// ```ignore
/// ormkit::pg_composite!(Address = "public"."address", "public.address" {
///     street: String = "\"pg_catalog\".\"text\"",
/// });
/// ```
#[macro_export]
macro_rules! pg_composite {
    ($ty:ident = $schema:literal . $name:literal, $regtype:literal {
        $($field:ident: $field_ty:ty = $sql:literal),* $(,)?
    }) => {
        $crate::__sql_type!($ty = $schema . $name, $regtype);

        impl $crate::sqlx::Encode<'_, $crate::sqlx::Postgres> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::sqlx::postgres::PgArgumentBuffer,
            ) -> Result<$crate::sqlx::encode::IsNull, $crate::sqlx::error::BoxDynError> {
                let mut encoder = $crate::sqlx::postgres::types::PgRecordEncoder::new(buf);
                $(encoder.encode($crate::__private::FieldValue::new(&self.$field, $sql))?;)*
                encoder.finish();
                Ok($crate::sqlx::encode::IsNull::No)
            }
        }

        impl<'r> $crate::sqlx::Decode<'r, $crate::sqlx::Postgres> for $ty {
            fn decode(
                value: $crate::sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, $crate::sqlx::error::BoxDynError> {
                let mut decoder = $crate::sqlx::postgres::types::PgRecordDecoder::new(value)?;
                Ok(Self { $($field: decoder.try_decode::<Option<$field_ty>>()?,)* })
            }
        }
    };
}

/// `sqlx::Type` and `PgHasArrayType` for a generated type named `schema.name` in SQL.
#[doc(hidden)]
#[macro_export]
macro_rules! __sql_type {
    ($ty:ident = $schema:literal . $name:literal, $regtype:literal) => {
        $crate::value_type!($ty);

        impl $crate::sqlx::Type<$crate::sqlx::Postgres> for $ty {
            fn type_info() -> $crate::sqlx::postgres::PgTypeInfo {
                $crate::sqlx::postgres::PgTypeInfo::with_name($regtype)
            }
            fn compatible(ty: &$crate::sqlx::postgres::PgTypeInfo) -> bool {
                $crate::__private::type_matches(ty, $schema, $name)
            }
        }

        impl $crate::sqlx::postgres::PgHasArrayType for $ty {
            fn array_type_info() -> $crate::sqlx::postgres::PgTypeInfo {
                $crate::sqlx::postgres::PgTypeInfo::array_of($regtype)
            }
            fn array_compatible(ty: &$crate::sqlx::postgres::PgTypeInfo) -> bool {
                $crate::__private::array_matches(ty, $schema, $name)
            }
        }
    };
}

/// A positional `FromRow` for a checked query's row struct: its fields in result-column
/// order.
///
/// ```ignore
/// ormkit::query_row!(ActiveAuthorsRow { id, email, posts });
/// ```
#[macro_export]
macro_rules! query_row {
    ($row:ident { $($field:ident),* $(,)? }) => {
        impl<'r> $crate::sqlx::FromRow<'r, $crate::sqlx::postgres::PgRow> for $row {
            fn from_row(row: &'r $crate::sqlx::postgres::PgRow) -> Result<Self, $crate::sqlx::Error> {
                let mut _at = $crate::__private::Position::default();
                Ok(Self { $($field: _at.next(row)?,)* })
            }
        }
    };
}

#[cfg(test)]
#[allow(dead_code, unreachable_pub)] // the macros' items are `pub`, for generated code
mod tests {
    /// A row with a column called `new`, whose setter cannot be `new`.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct Item {
        pub(crate) id: i64,
        pub(crate) new: bool,
        pub(crate) note: Option<String>,
    }

    /// Its insert model.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct NewItem {
        pub(crate) id: Option<i64>,
        pub(crate) new: bool,
        pub(crate) note: Option<String>,
    }

    /// Its patch model, as the code generator writes it.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct ItemPatch {
        pub(crate) id: i64,
        pub(crate) new: Option<bool>,
        pub(crate) note: Option<Option<String>>,
    }

    crate::entity! {
        Item = "public"."items" (Table) {
            id: "id" "int8".key(),
            new: "new" "bool",
            note: "note" "text".nullable(),
        }
        key: ["id"],
        insert NewItem { required: [new: bool = 1], nullable: [note = 2], defaulted: [id = 0] }
        patch ItemPatch (id: i64) -> i64 { new as set_new: bool = 1, note: Option<String> = 2 }
    }

    #[test]
    fn patch_setters_set_some_and_keep_the_fields() {
        let patch = ItemPatch::new(7).note(None).set_new(true);
        assert_eq!(
            patch,
            ItemPatch {
                id: 7,
                new: Some(true),
                note: Some(None),
            }
        );
        let patch = ItemPatch::new(7).note(Some("x".into()));
        assert_eq!(patch.note, Some(Some("x".into())));
        assert_eq!(patch.new, None, "an unset column stays None: not written");
    }
}
