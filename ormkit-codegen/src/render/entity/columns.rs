//! `pub mod users { … }`: the typed column constants of a table or view and the relation
//! constants of its foreign keys (those it holds and those pointing at it).

use super::super::plan::Here;
use super::super::{doc, Ctx};
use super::plan::{column_type, Link, ManyLink, TablePlan};
use crate::error::Result;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

pub(super) fn render(ctx: &Ctx<'_>, plan: &TablePlan<'_>) -> Result<TokenStream> {
    let relation = plan.relation;
    let here = Here::table(&relation.name.schema);
    let row = &plan.names.row;
    let writable = relation.kind.is_writable();
    // ormkit's names, imported unless the schema has a type of its own by that name.
    let taken = ctx.plan.type_names(&relation.name.schema);
    let name = |n: &str| -> TokenStream {
        let id = proc_macro2::Ident::new(n, proc_macro2::Span::call_site());
        if taken.contains(n) {
            quote!(::ormkit::#id)
        } else {
            quote!(#id)
        }
    };
    let (column, read_only) = (name("Column"), name("ReadOnly"));
    let (belongs_to, has_many) = (name("BelongsTo"), name("HasMany"));
    let many_to_many = name("ManyToMany");
    let mut consts = Vec::with_capacity(plan.columns.len());
    for (i, c) in plan.columns.iter().enumerate() {
        let ty = column_type(ctx, relation, c.column, here)?;
        let value = &ty.value;
        let ty = if c.column.nullable {
            quote!(Option<#value>)
        } else {
            value.clone()
        };
        let ro = c.column.is_read_only() || !writable;
        let access = if ro {
            quote!(, #read_only)
        } else {
            TokenStream::new()
        };
        let (konst, i) = (&c.konst, Literal::usize_unsuffixed(i));
        consts.push(quote! {
            pub const #konst: #column<#row, #ty #access> = #column::new(#i);
        });
    }
    let links: Vec<TokenStream> = plan
        .links
        .iter()
        .filter_map(|l| link(l, &belongs_to, &has_many))
        .chain(plan.many.iter().filter_map(|m| many(m, &many_to_many)))
        .collect();
    // The names not taken are imported by the schema's module (`imports`) and reach this
    // module through `use super::*`.
    let mut text = format!(
        "Typed columns (in column order) and relations of `{}`, for queries.",
        plan.sql_name
    );
    for l in &plan.links {
        if let Err(why) = &l.key {
            text.push_str(&format!(
                "\n\nNo relation constant `{}` for `{}` ({} → {}): {why}.",
                l.name, l.fk_name, l.from_sql, l.to_sql
            ));
        }
    }
    for m in &plan.many {
        if let Err(why) = &m.key {
            text.push_str(&format!(
                "\n\nNo relation constant `{}` to `{}` through `{}`: {why}.",
                m.name, m.to_sql, m.link_sql
            ));
        }
    }
    let (module, module_doc) = (&plan.names.module, doc(&text));
    Ok(quote! {
        #module_doc
        pub mod #module {
            use super::*;

            #(#consts)*
            #(#links)*
        }
    })
}

/// `pub const AUTHOR: BelongsTo<Post, User, UserId> = BelongsTo::new(0, |r| …, |r| …);`
/// Nothing when the key cannot be typed (the module documentation says why).
fn link(link: &Link, belongs_to: &TokenStream, has_many: &TokenStream) -> Option<TokenStream> {
    let (name, from, to) = (&link.name, &link.from, &link.to);
    let fk = Literal::usize_unsuffixed(link.fk);
    let key = link.key.as_ref().ok()?;
    let (k, from_key, to_key) = (&key.ty, &key.from, &key.to);
    Some(if link.has_many {
        let d = doc(&format!(
            "The `{}` rows pointing here through `{}`.",
            link.from_sql, link.fk_name
        ));
        quote! {
            #d
            pub const #name: #has_many<#to, #from, #k> =
                #has_many::new(#fk, |r| #to_key, |r| #from_key);
        }
    } else {
        let d = doc(&format!(
            "The `{}` row this one references through `{}`.",
            link.to_sql, link.fk_name
        ));
        quote! {
            #d
            pub const #name: #belongs_to<#from, #to, #k> =
                #belongs_to::new(#fk, |r| #from_key, |r| #to_key);
        }
    })
}

/// `pub const LABELS: ManyToMany<Post, Label, PostLabel, PostId> = ManyToMany::new(0, 1, |r| …,
/// |r| …);`. Nothing when the key cannot be typed.
fn many(m: &ManyLink, many_to_many: &TokenStream) -> Option<TokenStream> {
    let (name, from, to, link) = (&m.name, &m.from, &m.to, &m.link);
    let (from_fk, to_fk) = (
        Literal::usize_unsuffixed(m.from_fk),
        Literal::usize_unsuffixed(m.to_fk),
    );
    let key = m.key.as_ref().ok()?;
    let (k, link_key, own_key) = (&key.ty, &key.from, &key.to);
    let d = doc(&format!(
        "The `{}` rows linked to this one through `{}`.",
        m.to_sql, m.link_sql
    ));
    Some(quote! {
        #d
        pub const #name: #many_to_many<#from, #to, #link, #k> =
            #many_to_many::new(#from_fk, #to_fk, |r| #own_key, |r| #link_key);
    })
}

/// ormkit's names the table modules of `schema` use, imported once in the schema's module:
/// those the schema does not declare a type of its own by.
pub(crate) fn imports(ctx: &Ctx<'_>, schema: &str) -> TokenStream {
    let taken = ctx.plan.type_names(schema);
    let names = ["BelongsTo", "Column", "HasMany", "ManyToMany", "ReadOnly"]
        .into_iter()
        .filter(|n| !taken.contains(*n))
        .map(|n| proc_macro2::Ident::new(n, proc_macro2::Span::call_site()));
    quote!(use ::ormkit::{#(#names),*};)
}
