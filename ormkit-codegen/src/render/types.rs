//! Enums, composite types and domain aliases.

use super::plan::Here;
use super::text::{self, lit, room, Lines};
use super::{doc, Ctx};
use crate::error::Result;
use crate::names::{ident, rust_name, Case, Scope};
use ormkit_schema::{CompositeType, Domain, EnumType};
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn render_enum(ctx: &Ctx<'_>, e: &EnumType) -> TokenStream {
    let ty = &ctx.plan.types[&e.name];
    let mut scope = Scope::with_reserved(&["ALL", "META"]);
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
    let (schema, name) = (&e.name.schema, &e.name.name);
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
    let variants_text: Vec<String> = variants
        .iter()
        .zip(labels)
        .map(|(v, l)| format!("{v} = {}", lit(l)))
        .collect();
    let mut call = Lines::default();
    call.fill(
        &format!(
            "::ormkit::pg_enum!({ty} = {}.{}, {} ",
            lit(schema),
            lit(name),
            lit(&sql_name)
        ),
        "{ ",
        &variants_text,
        " });",
        "",
        room(ctx.plan.depth(schema)),
    );
    let call = ctx.splices.item(call.lines);
    quote! {
        #ty_doc
        #derives
        pub enum #ty {
            #( #variant_docs #serde_renames #variants, )*
        }

        #call
    }
}

pub(super) fn render_composite(ctx: &Ctx<'_>, c: &CompositeType) -> Result<TokenStream> {
    let ty = &ctx.plan.types[&c.name];
    let here = Here::schema(&c.name.schema);
    let mut scope = Scope::default();
    let fields: Vec<_> = c
        .fields
        .iter()
        .map(|f| ident(&scope.claim(&rust_name(&f.name, Case::Snake))))
        .collect();
    let mut types = Vec::new();
    for f in &c.fields {
        let owner = format!("{}.{}.{}", c.name.schema, c.name.name, f.name);
        types.push(ctx.value_type(&f.ty, &owner, false, here)?);
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
    // Always-quoted, schema-qualified names: `"pg_catalog"."char"` is not `char`.
    let fields_text: Vec<String> = c
        .fields
        .iter()
        .zip(&fields)
        .zip(&types)
        .map(|((f, field), t)| {
            let sql = format!(
                "{}{}",
                f.ty.name.quoted(),
                if f.ty.array { "[]" } else { "" }
            );
            format!("{field}: {} = {}", text::ty(t), lit(&sql))
        })
        .collect();
    let mut call = Lines::default();
    call.fill(
        &format!(
            "::ormkit::pg_composite!({ty} = {}.{}, {} ",
            lit(&c.name.schema),
            lit(&c.name.name),
            lit(&sql_name)
        ),
        "{ ",
        &fields_text,
        " });",
        "",
        room(ctx.plan.depth(&c.name.schema)),
    );
    let call = ctx.splices.item(call.lines);
    Ok(quote! {
        #ty_doc
        #derives
        pub struct #ty {
            #( #field_docs pub #fields: Option<#types>, )*
        }

        #call
    })
}

/// `pub type EmailAddress = String;` — a domain is its base type, documented. A domain whose
/// base has no mapping gets no alias (a column using it reports the error).
pub(super) fn render_domain(ctx: &Ctx<'_>, d: &Domain) -> TokenStream {
    let ty = &ctx.plan.types[&d.name];
    let here = Here::schema(&d.name.schema);
    let owner = format!("domain {}", d.name);
    let Ok(base) = ctx.value_type(&d.base, &owner, false, here) else {
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
