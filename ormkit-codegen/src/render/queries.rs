//! `pub mod queries { pub mod reports { … } }`: one module per query file, and per query its
//! row struct, its `CheckedQuery` (text and described signature) and a typed function.

use super::plan::Here;
use super::text::{lit, room, Lines};
use super::{doc, entity, Ctx};
use crate::error::{CodegenError, Result};
use crate::names::{ident, rust_name, Case, Scope};
use crate::queries::parse::{Kind, QueryDef};
use crate::queries::QueryFile;
use ormkit_schema::{LockedQuery, QueryColumn, TypeRef};
use proc_macro2::TokenStream;
use quote::quote;

/// The queries module, or nothing when the crate has no checked queries.
pub(super) fn render(
    ctx: &Ctx<'_>,
    locked: &[LockedQuery],
    files: &[QueryFile],
) -> Result<TokenStream> {
    let mut modules = Vec::new();
    let mut statics = Vec::new();
    let mut scope = Scope::with_reserved(&["QUERIES"]);
    for file in files {
        let described: Vec<(&QueryDef, &LockedQuery)> = file
            .queries
            .iter()
            .filter_map(|q| {
                let l = locked
                    .iter()
                    .find(|l| l.file == q.file && l.name == q.name)?;
                Some((q, l))
            })
            .collect();
        if described.is_empty() {
            continue;
        }
        let stem = file.queries[0]
            .file
            .strip_suffix(".sql")
            .unwrap_or(&file.queries[0].file);
        let module = ident(&scope.claim(&rust_name(stem, Case::Snake)));
        let mut items = Vec::new();
        let mut names = Scope::with_reserved(&["db"]);
        for (query, signature) in described {
            let (item, static_name) = render_query(ctx, file, query, signature, &mut names)?;
            items.push(item);
            statics.push(quote!(&#module::#static_name));
        }
        let d = doc(&format!("The queries of `{}`.", file.queries[0].file));
        modules.push(quote! {
            #d
            pub mod #module {
                use super::*;

                #(#items)*
            }
        });
    }
    if modules.is_empty() {
        return Ok(TokenStream::new());
    }
    Ok(quote! {
        /// The checked queries of this crate's query files: typed at build time against the
        /// schema, one module per file.
        pub mod queries {
            use super::*;

            /// Every checked query, for `SchemaValidator::validate_queries`.
            pub static QUERIES: &[&::ormkit::CheckedQuery] = &[#(#statics),*];

            #(#modules)*
        }
    })
}

fn type_error(file: &QueryFile, query: &QueryDef, message: String) -> CodegenError {
    CodegenError::QueryType {
        location: format!("{}:{}", file.path.display(), query.line),
        name: query.name.clone(),
        message,
    }
}

/// The Rust type of a value of `ty` in a query, seen from a file's module: the table
/// column's own type (a typed ID, an enum, an override) when the value is that column's.
fn value_type(
    ctx: &Ctx<'_>,
    file: &QueryFile,
    query: &QueryDef,
    what: &str,
    ty: &TypeRef,
    column: Option<&str>,
) -> Result<TokenStream> {
    let here = Here::schema(&ctx.plan.top);
    if let Some(Some(found)) = column
        .map(|c| entity::origin_type(ctx, c, ty, here))
        .transpose()?
    {
        return Ok(found);
    }
    let owner = format!("{}:{}.{what}", query.file, query.name);
    let rust = ctx.value_type(ty, &owner, false, here).map_err(|err| match err {
        CodegenError::UnmappedType { sql_type, note, .. } => type_error(
            file,
            query,
            format!("{what}: type `{sql_type}` has no Rust mapping ({note}); cast it in the query (e.g. `::text`) or add `type_override(\"{sql_type}\", …)`"),
        ),
        other => other,
    })?;
    if ctx.binding(ty, &owner, &rust).text_form {
        return Err(type_error(
            file,
            query,
            format!("{what}: type `{ty}` has no binary mapping; cast it to text in the query (`::text`, and `::text::{ty}` for a parameter)"),
        ));
    }
    Ok(rust)
}

fn render_query(
    ctx: &Ctx<'_>,
    file: &QueryFile,
    query: &QueryDef,
    signature: &LockedQuery,
    names: &mut Scope,
) -> Result<(TokenStream, proc_macro2::Ident)> {
    let function = ident(&names.claim(&rust_name(&query.name, Case::Snake)));
    let stream_fn = (query.kind == Kind::Many)
        .then(|| ident(&names.claim(&format!("{}_stream", rust_name(&query.name, Case::Snake)))));
    let static_name = ident(&names.claim(&rust_name(&query.name, Case::Shouty)));
    if query.kind != Kind::Exec && signature.columns.is_empty() {
        return Err(type_error(
            file,
            query,
            format!(
                "it returns no columns, so it cannot be `:{}`; make it `:exec`",
                query.kind.as_str()
            ),
        ));
    }
    // Parameters: named after their `:name`, typed by PostgreSQL (or their column's type).
    let mut params = Vec::new();
    let mut binds = Vec::new();
    let mut param_scope = Scope::with_reserved(&["db"]);
    for p in &signature.params {
        let name = ident(&param_scope.claim(&rust_name(&p.name, Case::Snake)));
        let what = format!("parameter :{}", p.name);
        let ty = value_type(ctx, file, query, &what, &p.ty, p.column.as_deref())?;
        // A parameter PostgreSQL typed as `citext` is sent as `citext`, not as text.
        let owner = format!("{}:{}.{what}", query.file, query.name);
        binds.push(match ctx.binding(&p.ty, &owner, &ty).cast {
            Some(cast) => quote!(.bind_as(#name, #cast)),
            None => quote!(.bind(#name)),
        });
        params.push((name, ty));
    }
    // The row: an entity (`-- returns:`), or a struct named after the query.
    let (row_type, row_items) = match &query.returns {
        Some(entity) => (
            returned_entity(ctx, file, query, signature, entity)?,
            TokenStream::new(),
        ),
        None if query.kind == Kind::Exec => (quote!(()), TokenStream::new()),
        None => row_struct(ctx, file, query, signature, names)?,
    };
    let (param_names, param_types): (Vec<_>, Vec<_>) = params.into_iter().unzip();
    let params_expr = quote!(::ormkit::Params::new() #(#binds)*);
    let mut text = query.doc.join("\n");
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "`{}`, line {}: `:{}`{}.",
        query.file,
        query.line,
        query.kind.as_str(),
        if signature.reads_only {
            ", reads only"
        } else {
            ""
        }
    ));
    let d = doc(&text);
    let (ret, call) = match query.kind {
        Kind::One => (quote!(#row_type), quote!(fetch_one)),
        Kind::Opt => (quote!(Option<#row_type>), quote!(fetch_optional)),
        Kind::Many => (quote!(Vec<#row_type>), quote!(fetch_all)),
        Kind::Exec => (quote!(u64), quote!(execute)),
    };
    let stream = stream_fn.map(|name| {
        let sd = doc(&format!(
            "`{}` as a stream: rows decoded as they arrive.",
            query.name
        ));
        quote! {
            #sd
            pub fn #name<'a>(
                db: impl Into<::ormkit::Db<'a>>,
                #(#param_names: #param_types),*
            ) -> ::ormkit::BoxStream<'a, ::ormkit::Result<#row_type>> {
                #static_name.fetch(db, #params_expr)
            }
        }
    });
    let param_list: Vec<String> = signature
        .params
        .iter()
        .map(|p| lit(&p.ty.to_string()))
        .collect();
    let columns: Vec<String> = signature
        .columns
        .iter()
        .map(|c| {
            format!(
                "::ormkit::QueryColumn::new({}, {}, {})",
                lit(&c.name),
                lit(&c.ty.to_string()),
                c.nullable
            )
        })
        .collect();
    let mut described = Lines::default();
    described.line(format!(
        "/// The SQL and signature of `{}`, as PostgreSQL described them.",
        query.name
    ));
    described.line(format!(
        "pub static {static_name}: ::ormkit::CheckedQuery = ::ormkit::CheckedQuery::new("
    ));
    described.nested(|o| {
        o.line(format!("{},", lit(&query.file)));
        o.line(format!("{},", lit(&query.name)));
        o.line(format!("{},", lit(&query.sql)));
        o.line(format!("{},", signature.reads_only));
    });
    described.line(")");
    if !param_list.is_empty() {
        described.list(".params(&", &param_list, ")", room(2));
    }
    if !columns.is_empty() {
        described.rows(".columns(&", &columns, ")", room(2));
    }
    if let Some(last) = described.lines.last_mut() {
        last.push(';');
    }
    let described = ctx.splices.item(described.lines);
    Ok((
        quote! {
            #row_items
            #described

            #d
            pub async fn #function<'a>(
                db: impl Into<::ormkit::Db<'a>>,
                #(#param_names: #param_types),*
            ) -> ::ormkit::Result<#ret> {
                #static_name.#call(db, #params_expr).await
            }

            #stream
        },
        static_name,
    ))
}

fn row_struct(
    ctx: &Ctx<'_>,
    file: &QueryFile,
    query: &QueryDef,
    signature: &LockedQuery,
    names: &mut Scope,
) -> Result<(TokenStream, TokenStream)> {
    let row = ident(&names.claim(&format!("{}Row", rust_name(&query.name, Case::Camel))));
    let mut fields = Scope::default();
    let mut idents = Vec::new();
    let mut decls = Vec::new();
    for c in &signature.columns {
        let base = if c.name.is_empty() || c.name == "?column?" {
            "column".to_owned()
        } else {
            rust_name(&c.name, Case::Snake)
        };
        let field = ident(&fields.claim(&base));
        let ty = column_type(ctx, file, query, c)?;
        let d = doc(&format!(
            "`{}` ({}{})",
            c.name,
            c.ty,
            if c.nullable { ", nullable" } else { "" }
        ));
        decls.push(quote!(#d pub #field: #ty,));
        idents.push(field.to_string());
    }
    let d = doc(&format!("A row of `{}`.", query.name));
    let mut decode = Lines::default();
    decode.fill(
        &format!("::ormkit::query_row!({row} "),
        "{ ",
        &idents,
        " });",
        "",
        room(2),
    );
    let decode = ctx.splices.item(decode.lines);
    Ok((
        quote!(#row),
        quote! {
            #d
            #[derive(Debug, Clone, PartialEq)]
            pub struct #row {
                #(#decls)*
            }

            #decode
        },
    ))
}

fn column_type(
    ctx: &Ctx<'_>,
    file: &QueryFile,
    query: &QueryDef,
    c: &QueryColumn,
) -> Result<TokenStream> {
    let value = value_type(
        ctx,
        file,
        query,
        &format!("column `{}`", c.name),
        &c.ty,
        c.origin.as_deref(),
    )?;
    Ok(if c.nullable {
        quote!(Option<#value>)
    } else {
        value
    })
}

/// `-- returns: User`: the entity, when the query's columns are exactly its columns.
fn returned_entity(
    ctx: &Ctx<'_>,
    file: &QueryFile,
    query: &QueryDef,
    signature: &LockedQuery,
    name: &str,
) -> Result<TokenStream> {
    let here = Here::schema(&ctx.plan.top);
    let found = ctx.model.relations.iter().find(|r| {
        let names = &ctx.plan.relations[&r.name];
        names.row == name
            || ctx
                .plan
                .path(&r.name.schema, &names.row, here)
                .to_string()
                .replace(' ', "")
                == name
    });
    let Some(relation) = found else {
        return Err(type_error(
            file,
            query,
            format!("`-- returns: {name}` names no entity of this schema"),
        ));
    };
    let mut differences = Vec::new();
    if relation.columns.len() != signature.columns.len() {
        differences.push(format!(
            "{} has {} columns, the query returns {}",
            name,
            relation.columns.len(),
            signature.columns.len()
        ));
    }
    for (i, (want, got)) in relation.columns.iter().zip(&signature.columns).enumerate() {
        let (base, _) = ctx.model.resolve(&want.ty);
        if want.name != got.name {
            differences.push(format!(
                "column {}: `{}` expected, `{}` returned",
                i + 1,
                want.name,
                got.name
            ));
        } else if base != got.ty && want.ty != got.ty {
            differences.push(format!(
                "`{}`: {} expected, {} returned",
                want.name, want.ty, got.ty
            ));
        }
    }
    if !differences.is_empty() {
        return Err(type_error(
            file,
            query,
            format!(
                "its columns are not those of `{name}`: {}",
                differences.join("; ")
            ),
        ));
    }
    let names = &ctx.plan.relations[&relation.name];
    Ok(ctx.plan.path(&relation.name.schema, &names.row, here))
}
