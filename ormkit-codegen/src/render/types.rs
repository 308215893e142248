//! Enums, composite types and domain aliases.

use super::{doc, Ctx};
use crate::error::Result;
use crate::names::{ident, rust_name, Case, Scope};
use ormkit_schema::{CompositeType, Domain, EnumType};
use proc_macro2::TokenStream;
use quote::quote;

/// `sqlx::Type` and `PgHasArrayType` for a generated type named `schema.name` in SQL.
fn type_impls(ty: &proc_macro2::Ident, schema: &str, name: &str) -> TokenStream {
    let sql = ormkit_schema::QualifiedName::new(schema, name).to_string();
    quote! {
        impl ::ormkit::sqlx::Type<::ormkit::sqlx::Postgres> for #ty {
            fn type_info() -> ::ormkit::sqlx::postgres::PgTypeInfo {
                ::ormkit::sqlx::postgres::PgTypeInfo::with_name(#sql)
            }
            fn compatible(ty: &::ormkit::sqlx::postgres::PgTypeInfo) -> bool {
                ::ormkit::pg_type::type_matches(ty, #schema, #name)
            }
        }

        impl ::ormkit::sqlx::postgres::PgHasArrayType for #ty {
            fn array_type_info() -> ::ormkit::sqlx::postgres::PgTypeInfo {
                ::ormkit::sqlx::postgres::PgTypeInfo::array_of(#sql)
            }
            fn array_compatible(ty: &::ormkit::sqlx::postgres::PgTypeInfo) -> bool {
                ::ormkit::pg_type::array_matches(ty, #schema, #name)
            }
        }
    }
}

pub(super) fn render_enum(ctx: &Ctx<'_>, e: &EnumType) -> TokenStream {
    let ty = &ctx.plan.types[&e.name];
    let mut scope = Scope::with_reserved(&["ALL"]);
    let variants: Vec<_> = e
        .labels
        .iter()
        .map(|l| ident(&scope.claim(&rust_name(l, Case::Camel))))
        .collect();
    let labels = &e.labels;
    let sql_name = e.name.to_string();
    let ty_doc = doc(&match &e.comment {
        Some(c) => format!("{c}\n\nThe PostgreSQL enum `{sql_name}`."),
        None => format!("The PostgreSQL enum `{sql_name}`."),
    });
    let variant_docs = labels.iter().map(|l| doc(&format!("`'{l}'`")));
    let serde_renames = labels.iter().map(|l| {
        if ctx.config.serde {
            quote!(#[serde(rename = #l)])
        } else {
            quote!()
        }
    });
    let derives = ctx.derives(
        quote!(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord),
        true,
    );
    let impls = type_impls(ty, &e.name.schema, &e.name.name);
    let matches_self = if variants.is_empty() {
        quote!(match *self {})
    } else {
        quote!(match self { #( Self::#variants => #labels, )* })
    };
    quote! {
        #ty_doc
        #derives
        pub enum #ty {
            #( #variant_docs #serde_renames #variants, )*
        }

        impl #ty {
            /// Every label, in the enum's sort order.
            pub const ALL: &'static [#ty] = &[#( Self::#variants ),*];

            /// The label exactly as PostgreSQL stores it.
            pub const fn as_str(&self) -> &'static str {
                #matches_self
            }
        }

        impl ::ormkit::SqlOrd for #ty {}

        impl ::std::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for #ty {
            type Err = ::ormkit::pg_type::UnknownLabel;
            fn from_str(label: &str) -> ::std::result::Result<Self, Self::Err> {
                match label {
                    #( #labels => ::std::result::Result::Ok(Self::#variants), )*
                    other => ::std::result::Result::Err(::ormkit::pg_type::UnknownLabel {
                        type_name: #sql_name,
                        label: other.to_owned(),
                    }),
                }
            }
        }

        #impls

        impl ::ormkit::sqlx::Encode<'_, ::ormkit::sqlx::Postgres> for #ty {
            fn encode_by_ref(
                &self,
                buf: &mut ::ormkit::sqlx::postgres::PgArgumentBuffer,
            ) -> ::std::result::Result<::ormkit::sqlx::encode::IsNull, ::ormkit::sqlx::error::BoxDynError> {
                <&str as ::ormkit::sqlx::Encode<'_, ::ormkit::sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> ::ormkit::sqlx::Decode<'r, ::ormkit::sqlx::Postgres> for #ty {
            fn decode(
                value: ::ormkit::sqlx::postgres::PgValueRef<'r>,
            ) -> ::std::result::Result<Self, ::ormkit::sqlx::error::BoxDynError> {
                ::std::result::Result::Ok(value.as_str()?.parse::<Self>()?)
            }
        }
    }
}

pub(super) fn render_composite(ctx: &Ctx<'_>, c: &CompositeType) -> Result<TokenStream> {
    let ty = &ctx.plan.types[&c.name];
    let depth = ctx.plan.depth(&c.name.schema);
    let mut scope = Scope::default();
    let fields: Vec<_> = c
        .fields
        .iter()
        .map(|f| ident(&scope.claim(&rust_name(&f.name, Case::Snake))))
        .collect();
    let mut types = Vec::new();
    for f in &c.fields {
        let owner = format!("{}.{}.{}", c.name.schema, c.name.name, f.name);
        types.push(ctx.value_type(&f.ty, &owner, false, depth)?);
    }
    let field_docs = c.fields.iter().map(|f| {
        doc(&match &f.comment {
            Some(comment) => format!("{comment}\n\n`{}` ({})", f.name, f.ty),
            None => format!("`{}` ({})", f.name, f.ty),
        })
    });
    let sql_name = c.name.to_string();
    let ty_doc = doc(&match &c.comment {
        Some(comment) => format!("{comment}\n\nThe PostgreSQL composite type `{sql_name}`."),
        None => format!("The PostgreSQL composite type `{sql_name}` (every field may be NULL)."),
    });
    let serde_ok = ctx.serde_ok(c.fields.iter().map(|f| {
        (
            &f.ty,
            format!("{}.{}.{}", c.name.schema, c.name.name, f.name),
        )
    }));
    let derives = ctx.derives(quote!(Debug, Clone, PartialEq), serde_ok);
    let impls = type_impls(ty, &c.name.schema, &c.name.name);
    // Always-quoted, schema-qualified names: `"pg_catalog"."char"` is not `char`.
    let field_sql_types = c.fields.iter().map(|f| {
        format!(
            "{}{}",
            f.ty.name.quoted(),
            if f.ty.array { "[]" } else { "" }
        )
    });
    Ok(quote! {
        #ty_doc
        #derives
        pub struct #ty {
            #( #field_docs pub #fields: ::std::option::Option<#types>, )*
        }

        #impls

        impl ::ormkit::sqlx::Encode<'_, ::ormkit::sqlx::Postgres> for #ty {
            fn encode_by_ref(
                &self,
                buf: &mut ::ormkit::sqlx::postgres::PgArgumentBuffer,
            ) -> ::std::result::Result<::ormkit::sqlx::encode::IsNull, ::ormkit::sqlx::error::BoxDynError> {
                let mut encoder = ::ormkit::sqlx::postgres::types::PgRecordEncoder::new(buf);
                #( encoder.encode(::ormkit::pg_type::FieldValue::new(&self.#fields, #field_sql_types))?; )*
                encoder.finish();
                ::std::result::Result::Ok(::ormkit::sqlx::encode::IsNull::No)
            }
        }

        impl<'r> ::ormkit::sqlx::Decode<'r, ::ormkit::sqlx::Postgres> for #ty {
            fn decode(
                value: ::ormkit::sqlx::postgres::PgValueRef<'r>,
            ) -> ::std::result::Result<Self, ::ormkit::sqlx::error::BoxDynError> {
                let mut decoder = ::ormkit::sqlx::postgres::types::PgRecordDecoder::new(value)?;
                ::std::result::Result::Ok(Self {
                    #( #fields: decoder.try_decode::<::std::option::Option<#types>>()?, )*
                })
            }
        }
    })
}

/// `pub type EmailAddress = String;` — a domain is its base type, documented. A domain whose
/// base has no mapping gets no alias (a column using it reports the error).
pub(super) fn render_domain(ctx: &Ctx<'_>, d: &Domain) -> TokenStream {
    let ty = &ctx.plan.types[&d.name];
    let depth = ctx.plan.depth(&d.name.schema);
    let owner = format!("domain {}", d.name);
    let Ok(base) = ctx.value_type(&d.base, &owner, false, depth) else {
        return TokenStream::new();
    };
    let mut text = format!(
        "The PostgreSQL domain `{}` over `{}`{}.",
        d.name,
        d.base,
        if d.not_null { ", NOT NULL" } else { "" }
    );
    for check in &d.checks {
        text.push_str(&format!("\n\n`{}`: `{}`", check.name, check.definition));
    }
    if let Some(comment) = &d.comment {
        text = format!("{comment}\n\n{text}");
    }
    let ty_doc = doc(&text);
    quote! {
        #ty_doc
        pub type #ty = #base;
    }
}
