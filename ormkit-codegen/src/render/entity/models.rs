//! The insert model, the typed ID and the patch model: plain structs (`ormkit::entity!`
//! implements them).

use super::super::{doc, Ctx};
use super::plan::{InsertField, TablePlan};
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn render(ctx: &Ctx<'_>, plan: &TablePlan<'_>) -> TokenStream {
    let relation = plan.relation;
    let serde_ok = ctx.serde_ok(relation.columns.iter().map(|c| {
        let owner = format!("{}.{}.{}", relation.name.schema, relation.name.name, c.name);
        (&c.ty, owner)
    }));
    let derives = ctx.derives(quote!(Debug, Clone, PartialEq), serde_ok);
    let row = &plan.names.row;
    let mut out = TokenStream::new();
    if let Some(new) = &plan.names.new {
        let fields = plan.columns.iter().filter_map(|c| {
            let (field, ty) = (&c.field, c.field_type());
            Some(match c.insert? {
                InsertField::Required | InsertField::Nullable => quote!(pub #field: #ty,),
                InsertField::Defaulted | InsertField::DefaultedNullable => {
                    quote!(pub #field: Option<#ty>,)
                }
            })
        });
        let d = doc(&format!(
            "A new row for `{}`: columns the database can fill in are `Option`s (`None` = its default); identity ALWAYS and generated columns are absent.",
            plan.sql_name
        ));
        out.extend(quote! {
            #d
            #derives
            pub struct #new {
                #(#fields)*
            }
        });
    }
    let (Some(patch), Some(key)) = (&plan.names.patch, &plan.key) else {
        return out;
    };
    if let (Some(id), [k]) = (&plan.names.id, key.columns.as_slice()) {
        let c = &plan.columns[*k];
        let inner = c.ty.id_inner.as_ref().unwrap_or(&c.ty.value);
        let d = doc(&format!(
            "The primary key of `{}`: a `{}` that only this table's rows accept (`{id}::new(…)`).",
            plan.sql_name, c.column.ty
        ));
        out.extend(quote! {
            #d
            pub type #id = ::ormkit::Id<#row, #inner>;
        });
    }
    let keys = key.columns.iter().map(|&i| {
        let (field, ty) = (&plan.columns[i].field, plan.columns[i].field_type());
        quote!(pub #field: #ty,)
    });
    let sets = plan.columns.iter().filter(|c| c.patchable).map(|c| {
        let (field, ty) = (&c.field, c.field_type());
        quote!(pub #field: Option<#ty>,)
    });
    let d = doc(&format!(
        "Changes to one row of `{}`: the key, and `Some` for every column to write.",
        plan.sql_name
    ));
    out.extend(quote! {
        #d
        #derives
        pub struct #patch {
            #(#keys)*
            #(#sets)*
        }
    });
    out
}
