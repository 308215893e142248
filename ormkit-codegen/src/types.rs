//! PostgreSQL types → Rust types. The README's type table is this file.

use crate::config::{Config, TimeCrate};
use crate::error::CodegenError;
use ormkit_schema::{QualifiedName, SchemaModel, TypeDef, TypeRef};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

/// A Rust type for a column or field.
type RustType = TokenStream;

/// Where the generated type for an enum or composite lives, relative to the current module.
pub(crate) type PathOf<'a> = dyn Fn(&QualifiedName) -> TokenStream + 'a;

pub(crate) struct TypeMapper<'a> {
    pub(crate) model: &'a SchemaModel,
    pub(crate) config: &'a Config,
    pub(crate) overrides: &'a BTreeMap<String, syn::Type>,
}

impl TypeMapper<'_> {
    /// The Rust type of a value of `ty` (without the outer `Option` for nullability).
    /// `owner` names the column or field in errors and overrides (`schema.table.column`).
    pub(crate) fn value_type(
        &self,
        ty: &TypeRef,
        owner: &str,
        non_null_elements: bool,
        path_of: &PathOf<'_>,
    ) -> Result<RustType, CodegenError> {
        if let Some(t) = self.overrides.get(owner) {
            return Ok(quote!(#t));
        }
        let (resolved, _) = self.model.resolve(ty);
        let element = self.element_type(&resolved.element(), owner, path_of, ty)?;
        if !resolved.array {
            return Ok(element);
        }
        let inner = element;
        Ok(
            if non_null_elements || self.config.non_null_array_elements {
                quote!(Vec<#inner>)
            } else {
                quote!(Vec<Option<#inner>>)
            },
        )
    }

    fn element_type(
        &self,
        ty: &TypeRef,
        owner: &str,
        path_of: &PathOf<'_>,
        declared: &TypeRef,
    ) -> Result<RustType, CodegenError> {
        for key in [
            ty.name.to_string(),
            ty.to_string(),
            format!("{}.{}", ty.name.schema, ty.name.name),
            ty.name.name.clone(),
        ] {
            if let Some(t) = self.overrides.get(&key) {
                return Ok(quote!(#t));
            }
        }
        match self.model.type_def(&ty.name) {
            TypeDef::Enum(_) => return Ok(path_of(&ty.name)),
            TypeDef::Composite(_) => return Ok(path_of(&ty.name)),
            TypeDef::Range(r) if !ty.is_builtin() => {
                return Err(CodegenError::UnmappedType {
                    owner: owner.to_owned(),
                    sql_type: declared.to_string(),
                    note: format!(
                        "user-defined range types (over {}) have no sqlx mapping",
                        r.subtype
                    ),
                })
            }
            _ => {}
        }
        if let Some(found) = self.builtin(&ty.name.name, ty.is_builtin()) {
            return Ok(found);
        }
        Err(CodegenError::UnmappedType {
            owner: owner.to_owned(),
            sql_type: declared.to_string(),
            note: "no default mapping".to_owned(),
        })
    }

    /// Built-in types, and extension types known by name (`citext`, `hstore`, `ltree`).
    fn builtin(&self, name: &str, in_catalog: bool) -> Option<RustType> {
        let chrono = self.config.time_crate == TimeCrate::Chrono;
        let types = quote!(::ormkit::sqlx::postgres::types);
        let t = match (name, in_catalog) {
            ("bool", true) => quote!(bool),
            ("int2", true) => quote!(i16),
            ("int4", true) => quote!(i32),
            ("int8", true) => quote!(i64),
            ("float4", true) => quote!(f32),
            ("float8", true) => quote!(f64),
            ("char", true) => quote!(i8),
            ("numeric", true) => quote!(::ormkit::rust_decimal::Decimal),
            ("text" | "varchar" | "bpchar" | "name", true) | ("citext", _) => {
                quote!(String)
            }
            ("bytea", true) => quote!(Vec<u8>),
            // No binary mapping in sqlx: read as text, written as text cast to the type.
            (name, true) if TEXT_FORM.contains(&name) => quote!(String),
            ("uuid", true) => quote!(::ormkit::uuid::Uuid),
            ("json" | "jsonb", true) => quote!(::ormkit::serde_json::Value),
            ("inet" | "cidr", true) => quote!(::ormkit::ipnetwork::IpNetwork),
            ("interval", true) => quote!(#types::PgInterval),
            ("money", true) => quote!(#types::PgMoney),
            ("oid", true) => quote!(#types::Oid),
            ("point", true) => quote!(#types::PgPoint),
            ("line", true) => quote!(#types::PgLine),
            ("lseg", true) => quote!(#types::PgLSeg),
            ("box", true) => quote!(#types::PgBox),
            ("path", true) => quote!(#types::PgPath),
            ("polygon", true) => quote!(#types::PgPolygon),
            ("circle", true) => quote!(#types::PgCircle),
            ("hstore", _) => quote!(#types::PgHstore),
            ("ltree", _) => quote!(#types::PgLTree),
            ("lquery", _) => quote!(#types::PgLQuery),
            ("int4range", true) => quote!(#types::PgRange<i32>),
            ("int8range", true) => quote!(#types::PgRange<i64>),
            ("numrange", true) => quote!(#types::PgRange<::ormkit::rust_decimal::Decimal>),
            ("timestamptz", true) if chrono => {
                quote!(::ormkit::chrono::DateTime<::ormkit::chrono::Utc>)
            }
            ("timestamp", true) if chrono => quote!(::ormkit::chrono::NaiveDateTime),
            ("date", true) if chrono => quote!(::ormkit::chrono::NaiveDate),
            ("time", true) if chrono => quote!(::ormkit::chrono::NaiveTime),
            ("timetz", true) if chrono => {
                quote!(#types::PgTimeTz<::ormkit::chrono::NaiveTime, ::ormkit::chrono::FixedOffset>)
            }
            ("tstzrange", true) if chrono => {
                quote!(#types::PgRange<::ormkit::chrono::DateTime<::ormkit::chrono::Utc>>)
            }
            ("tsrange", true) if chrono => {
                quote!(#types::PgRange<::ormkit::chrono::NaiveDateTime>)
            }
            ("daterange", true) if chrono => {
                quote!(#types::PgRange<::ormkit::chrono::NaiveDate>)
            }
            ("timestamptz", true) => quote!(::ormkit::time::OffsetDateTime),
            ("timestamp", true) => quote!(::ormkit::time::PrimitiveDateTime),
            ("date", true) => quote!(::ormkit::time::Date),
            ("time", true) => quote!(::ormkit::time::Time),
            ("timetz", true) => {
                quote!(#types::PgTimeTz<::ormkit::time::Time, ::ormkit::time::UtcOffset>)
            }
            ("tstzrange", true) => quote!(#types::PgRange<::ormkit::time::OffsetDateTime>),
            ("tsrange", true) => quote!(#types::PgRange<::ormkit::time::PrimitiveDateTime>),
            ("daterange", true) => quote!(#types::PgRange<::ormkit::time::Date>),
            _ => return None,
        };
        Some(t)
    }
}

/// Built-in types mapped to `String` and carried as text (`::text` when read, a cast to the
/// type when written): sqlx has no binary mapping for them.
const TEXT_FORM: &[&str] = &[
    "tsvector",
    "tsquery",
    "xml",
    "bit",
    "varbit",
    "macaddr",
    "macaddr8",
    "pg_lsn",
    "txid_snapshot",
    "pg_snapshot",
    "jsonpath",
];

/// Types whose values are text on the wire (a `String` binds them as they are).
const TEXT_TYPES: &[&str] = &["text", "varchar", "bpchar", "name"];

/// How values of a column are bound and read beyond their Rust type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Binding {
    /// The SQL type bound values are cast to.
    pub(crate) cast: Option<String>,
    /// Read as `::text`, written as text cast to the type.
    pub(crate) text_form: bool,
}

impl TypeMapper<'_> {
    /// The override that applies to `ty` for `owner`, if any.
    fn override_of(&self, ty: &TypeRef, owner: &str) -> Option<&syn::Type> {
        if let Some(t) = self.overrides.get(owner) {
            return Some(t);
        }
        let (resolved, _) = self.model.resolve(ty);
        let element = resolved.element();
        [
            element.name.to_string(),
            element.to_string(),
            format!("{}.{}", element.name.schema, element.name.name),
            element.name.name.clone(),
        ]
        .into_iter()
        .find_map(|key| self.overrides.get(&key))
    }

    /// How a column of `ty` (its Rust value type `rust`) is bound: `citext` values are cast
    /// to `citext` (so comparisons stay case-insensitive), and a type given a `String` that
    /// is not text on the wire travels as text, cast to its type.
    pub(crate) fn binding(&self, ty: &TypeRef, owner: &str, rust: &TokenStream) -> Binding {
        let (resolved, _) = self.model.resolve(ty);
        let element = resolved.element();
        let name = element.name.name.as_str();
        let string = {
            let text = rust.to_string().replace(' ', "");
            matches!(
                text.as_str(),
                "String" | "::std::string::String" | "std::string::String"
            ) || text.ends_with("<String>>") && text.starts_with("Vec<")
                || text == "Vec<String>"
        };
        let builtin_text = element.is_builtin() && TEXT_TYPES.contains(&name);
        if name == "citext" {
            return Binding {
                cast: Some(resolved.to_string()),
                text_form: false,
            };
        }
        let text_form = (element.is_builtin() && TEXT_FORM.contains(&name))
            || (self.override_of(ty, owner).is_some()
                && string
                && !builtin_text
                && !matches!(self.model.type_def(&element.name), TypeDef::Enum(_)));
        if text_form {
            // `bit` without its length is `bit(1)`: cast to `varbit`, which assigns to any
            // `bit(n)` of its own length.
            let cast = match (element.is_builtin(), name) {
                (true, "bit") => ty.to_string().replacen("bit", "varbit", 1),
                _ => ty.to_string(),
            };
            return Binding {
                cast: Some(cast),
                text_form: true,
            };
        }
        Binding::default()
    }
}

/// Built-in types whose sqlx Rust types implement no serde traits.
const WITHOUT_SERDE: &[&str] = &[
    "interval",
    "money",
    "timetz",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "hstore",
    "ltree",
    "lquery",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
];

impl TypeMapper<'_> {
    /// Whether the Rust type of `ty` implements serde's traits (overrides are trusted to).
    pub(crate) fn supports_serde(&self, ty: &TypeRef, owner: &str) -> bool {
        if self.overrides.contains_key(owner) {
            return true;
        }
        let (resolved, _) = self.model.resolve(ty);
        let element = resolved.element();
        if [element.name.to_string(), element.name.name.clone()]
            .iter()
            .any(|key| self.overrides.contains_key(key))
        {
            return true;
        }
        match self.model.type_def(&element.name) {
            TypeDef::Enum(_) => true,
            TypeDef::Composite(c) => c.fields.iter().all(|f| {
                let owner = format!("{}.{}.{}", c.name.schema, c.name.name, f.name);
                self.supports_serde(&f.ty, &owner)
            }),
            _ => !WITHOUT_SERDE.contains(&element.name.name.as_str()),
        }
    }
}

/// Whether a check constraint text forbids NULL elements in `column`
/// (`CHECK (array_position(col, NULL) IS NULL)`), so it can be `Vec<T>`.
pub(crate) fn check_forbids_null_elements(definition: &str, column: &str) -> bool {
    let compact: String = definition.chars().filter(|c| !c.is_whitespace()).collect();
    let quoted = ormkit_schema::quote_ident_if_needed(column);
    compact.contains(&format!("array_position({quoted},NULL"))
        && compact.to_ascii_uppercase().contains(")ISNULL")
}

/// Rust types (as this module writes them) that implement `ormkit::KeyPart` (bound, hashed
/// and compared as key parts) and whether they are `Copy`; generated enums and typed IDs over
/// these are key parts too.
const KEY_PARTS: &[(&str, bool)] = &[
    ("bool", true),
    ("i8", true),
    ("i16", true),
    ("i32", true),
    ("i64", true),
    ("String", false),
    ("Vec < u8 >", false),
    (":: ormkit :: rust_decimal :: Decimal", true),
    (":: ormkit :: uuid :: Uuid", true),
    (":: ormkit :: chrono :: NaiveDate", true),
    (":: ormkit :: chrono :: NaiveTime", true),
    (":: ormkit :: chrono :: NaiveDateTime", true),
    (
        ":: ormkit :: chrono :: DateTime < :: ormkit :: chrono :: Utc >",
        true,
    ),
    (":: ormkit :: time :: Date", true),
    (":: ormkit :: time :: Time", true),
    (":: ormkit :: time :: PrimitiveDateTime", true),
    (":: ormkit :: time :: OffsetDateTime", true),
    (":: ormkit :: ipnetwork :: IpNetwork", true),
    (":: ormkit :: sqlx :: postgres :: types :: Oid", true),
];

/// `Copy` types that are no key parts.
const OTHER_COPY_TYPES: &[&str] = &["f32", "f64"];

/// What a value type (without nullability) can do as a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyTraits {
    /// It implements `ormkit::KeyPart`.
    pub(crate) key_part: bool,
    /// It is `Copy` (no `.clone()` needed).
    pub(crate) copy: bool,
}

impl TypeMapper<'_> {
    /// The key traits of the Rust type `rust` that `ty` maps to (overrides are trusted only
    /// when they name one of the known types).
    pub(crate) fn key_traits(&self, ty: &TypeRef, rust: &TokenStream) -> KeyTraits {
        let (resolved, _) = self.model.resolve(ty);
        let text = rust.to_string();
        if !resolved.array && matches!(self.model.type_def(&resolved.name), TypeDef::Enum(_)) {
            // The generated enum itself (unless overridden by another type).
            let generated = !KEY_PARTS.iter().any(|(t, _)| *t == text) && !text.contains('<');
            if generated {
                return KeyTraits {
                    key_part: true,
                    copy: true,
                };
            }
        }
        let part = KEY_PARTS.iter().find(|(t, _)| *t == text);
        KeyTraits {
            key_part: part.is_some(),
            copy: part.is_some_and(|(_, copy)| *copy) || OTHER_COPY_TYPES.contains(&text.as_str()),
        }
    }
}
