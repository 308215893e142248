//! The row struct and the accessors of its composite foreign keys.

use super::super::{doc, Ctx};
use super::plan::TablePlan;
use ormkit_schema::RelationKind;
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn render(ctx: &Ctx<'_>, plan: &TablePlan<'_>) -> TokenStream {
    let relation = plan.relation;
    let row = &plan.names.row;
    let kind_text = match relation.kind {
        RelationKind::Table => "table",
        RelationKind::PartitionedTable => "partitioned table",
        RelationKind::View => "view (read-only)",
        RelationKind::MaterializedView => "materialized view (read-only)",
    };
    let mut text = format!("A row of the {kind_text} `{}`.", plan.sql_name);
    if let Some(comment) = &relation.comment {
        text = format!("{comment}\n\n{text}");
    }
    if let Some(why) = &plan.no_key_api {
        text.push_str(&format!(
            "\n\nIt has no key-based API (`find_by_id`, patches): {why}."
        ));
    }
    let row_doc = doc(&text);
    let serde_ok = ctx.serde_ok(relation.columns.iter().map(|c| {
        let owner = format!("{}.{}.{}", relation.name.schema, relation.name.name, c.name);
        (&c.ty, owner)
    }));
    let derives = ctx.derives(quote!(Debug, Clone, PartialEq), serde_ok);
    // A field is documented where its SQL side is not already plain from the field: a
    // column comment, a SQL name other than the field's, or a type of the schema's own
    // (domain, enum, composite). `ormkit::entity!` below lists every column's SQL name and
    // type.
    let fields = plan.columns.iter().map(|c| {
        let col = c.column;
        let renamed = c.field.to_string().trim_start_matches("r#") != col.name;
        let own_type = !col.ty.element().is_builtin();
        let mut text = String::new();
        if renamed || own_type {
            text = format!(
                "`{}` ({}{})",
                col.name,
                col.ty,
                if col.nullable { ", nullable" } else { "" }
            );
        }
        if let Some(comment) = &col.comment {
            text = if text.is_empty() {
                comment.clone()
            } else {
                format!("{comment}\n\n{text}")
            };
        }
        let (field, ty) = (&c.field, c.field_type());
        let d = if text.is_empty() {
            TokenStream::new()
        } else {
            doc(&text)
        };
        quote!(#d pub #field: #ty,)
    });
    let accessors = accessors(plan);
    quote! {
        #row_doc
        #derives
        pub struct #row {
            #(#fields)*
        }

        #accessors
    }
}

/// `impl Row { pub fn membership_key(&self) -> (i32, UserId) { … } }`.
fn accessors(plan: &TablePlan<'_>) -> TokenStream {
    if plan.accessors.is_empty() {
        return TokenStream::new();
    }
    let row = &plan.names.row;
    let methods = plan.accessors.iter().map(|a| {
        let d = doc(&format!(
            "The key of the `{}` row this one references through `{}`{}.",
            a.to_sql,
            a.fk_name,
            if a.optional {
                " (`None` if a part is NULL)"
            } else {
                ""
            }
        ));
        let (name, ty, body) = (&a.name, &a.ty, &a.body);
        let ret = if a.optional {
            quote!(Option<#ty>)
        } else {
            quote!(#ty)
        };
        quote! {
            #d
            pub fn #name(&self) -> #ret {
                #body
            }
        }
    });
    quote! {
        impl #row {
            #(#methods)*
        }
    }
}
