//! One table or view → row struct, `FromRow`, metadata, insert and patch models, typed ID
//! and the module of typed column and relation constants.

use super::{doc, Ctx};
use crate::error::Result;
use crate::types::check_forbids_null_elements;
use ormkit_schema::{quote_ident, Column, EnumType, Relation, RelationKind, SchemaModel, TypeDef};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The Rust type of `column` seen from `depth`, with `Option` when nullable and the typed ID
/// of the referenced table for single-column foreign keys to a single-column primary key.
fn field_type(
    ctx: &Ctx<'_>,
    relation: &Relation,
    column: &Column,
    depth: usize,
) -> Result<TokenStream> {
    let inner = match typed_id(ctx, relation, column, depth) {
        Some(id) => id,
        None => {
            let owner = format!(
                "{}.{}.{}",
                relation.name.schema, relation.name.name, column.name
            );
            let non_null_elements = relation
                .checks
                .iter()
                .any(|c| check_forbids_null_elements(&c.definition, &column.name))
                || match ctx.model.type_def(&column.ty.name) {
                    TypeDef::Domain(d) => d
                        .checks
                        .iter()
                        .any(|c| check_forbids_null_elements(&c.definition, "VALUE")),
                    _ => false,
                };
            ctx.value_type(&column.ty, &owner, non_null_elements, depth)?
        }
    };
    Ok(if column.nullable {
        quote!(::std::option::Option<#inner>)
    } else {
        inner
    })
}

/// `UserId` for the key column of `users` and for every column that references it alone.
fn typed_id(
    ctx: &Ctx<'_>,
    relation: &Relation,
    column: &Column,
    depth: usize,
) -> Option<TokenStream> {
    let own_key = relation
        .primary_key
        .as_ref()
        .is_some_and(|k| k.columns == [column.name.clone()]);
    let target = if own_key {
        Some(relation)
    } else {
        relation
            .foreign_keys
            .iter()
            .find(|fk| fk.columns == [column.name.clone()])
            .and_then(|fk| {
                let to = ctx.model.relation(&fk.references)?;
                let key = to.primary_key.as_ref()?;
                (key.columns == fk.referenced_columns).then_some(to)
            })
    }?;
    let names = ctx.plan.relations.get(&target.name)?;
    let id = names.id.as_ref()?;
    // The key column's type must be the same as the referencing column's.
    let key_col = target.column(&target.primary_key.as_ref()?.columns[0])?;
    (key_col.ty == column.ty).then(|| ctx.plan.path(&target.name.schema, id, depth))
}

/// Whether every column's type implements serde's traits.
fn serde_ok(ctx: &Ctx<'_>, relation: &Relation) -> bool {
    ctx.serde_ok(relation.columns.iter().map(|c| {
        let owner = format!("{}.{}.{}", relation.name.schema, relation.name.name, c.name);
        (&c.ty, owner)
    }))
}

pub(super) fn render(ctx: &Ctx<'_>, relation: &Relation) -> Result<TokenStream> {
    let names = &ctx.plan.relations[&relation.name];
    let depth = ctx.plan.depth(&relation.name.schema);
    let row = &names.row;
    let sql_name = format!("{}.{}", relation.name.schema, relation.name.name);
    let mut field_types = Vec::new();
    for column in &relation.columns {
        field_types.push(field_type(ctx, relation, column, depth)?);
    }
    let fields = &names.fields;
    let col_names: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
    let field_docs = relation.columns.iter().map(|c| {
        let mut text = format!(
            "`{}` ({}{})",
            c.name,
            c.ty,
            if c.nullable { ", nullable" } else { "" }
        );
        if let Some(comment) = &c.comment {
            text = format!("{comment}\n\n{text}");
        }
        doc(&text)
    });
    let kind_text = match relation.kind {
        RelationKind::Table => "table",
        RelationKind::PartitionedTable => "partitioned table",
        RelationKind::View => "view (read-only)",
        RelationKind::MaterializedView => "materialized view (read-only)",
    };
    let row_doc = doc(&match &relation.comment {
        Some(c) => format!("{c}\n\nA row of the {kind_text} `{sql_name}`."),
        None => format!("A row of the {kind_text} `{sql_name}`."),
    });
    let derives = ctx.derives(quote!(Debug, Clone, PartialEq), serde_ok(ctx, relation));
    let meta = meta(ctx, relation);
    let mut out = quote! {
        #row_doc
        #derives
        pub struct #row {
            #( #field_docs pub #fields: #field_types, )*
        }

        impl<'r> ::ormkit::sqlx::FromRow<'r, ::ormkit::sqlx::postgres::PgRow> for #row {
            fn from_row(row: &'r ::ormkit::sqlx::postgres::PgRow) -> ::std::result::Result<Self, ::ormkit::sqlx::Error> {
                use ::ormkit::sqlx::Row as _;
                ::std::result::Result::Ok(Self { #( #fields: row.try_get(#col_names)?, )* })
            }
        }

        impl ::ormkit::Entity for #row {
            const META: &'static ::ormkit::EntityMeta = &#meta;
        }

        ::ormkit::__with_orm! {
            impl #row {
                /// A typed query over these rows.
                pub fn query() -> ::ormkit::Select<Self> {
                    ::ormkit::Select::new()
                }
            }
        }
    };
    if relation.kind.is_writable() {
        out.extend(insert_model(ctx, relation, &field_types)?);
    }
    if relation.kind.is_writable() && relation.primary_key.is_some() {
        out.extend(keyed(ctx, relation, &field_types)?);
    }
    out.extend(constants(ctx, relation, &field_types));
    Ok(out)
}

fn meta(ctx: &Ctx<'_>, relation: &Relation) -> TokenStream {
    let names = &ctx.plan.relations[&relation.name];
    let schema = &relation.name.schema;
    let name = &relation.name.name;
    let qualified = relation.name.quoted();
    let kind = match relation.kind {
        RelationKind::Table => quote!(Table),
        RelationKind::PartitionedTable => quote!(PartitionedTable),
        RelationKind::View => quote!(View),
        RelationKind::MaterializedView => quote!(MaterializedView),
    };
    let key: Vec<&str> = relation
        .primary_key
        .iter()
        .flat_map(|k| k.columns.iter().map(String::as_str))
        .collect();
    let columns = relation
        .columns
        .iter()
        .zip(&names.fields)
        .map(|(c, field)| {
            let (col, field, ty) = (&c.name, field.to_string(), c.ty.to_string());
            let (nullable, has_default, read_only) =
                (c.nullable, c.has_default(), c.is_read_only());
            let primary_key = key.contains(&c.name.as_str());
            quote! {
                ::ormkit::ColumnMeta {
                    name: #col, field: #field, sql_type: #ty, nullable: #nullable,
                    has_default: #has_default, read_only: #read_only, primary_key: #primary_key,
                }
            }
        });
    let fks = relation.foreign_keys.iter().map(|fk| {
        let (fk_name, cols, ref_schema, ref_table, ref_cols) = (
            &fk.name,
            &fk.columns,
            &fk.references.schema,
            &fk.references.name,
            &fk.referenced_columns,
        );
        quote! {
            ::ormkit::ForeignKeyMeta {
                name: #fk_name, columns: &[#(#cols),*], references_schema: #ref_schema,
                references_table: #ref_table, referenced_columns: &[#(#ref_cols),*],
            }
        }
    });
    let select_list = relation
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let key_filter = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} = ${}", quote_ident(k), i + 1))
        .collect::<Vec<_>>()
        .join(" AND ");
    let (select_by_key, delete_by_key) = if key.is_empty() || !relation.kind.is_writable() {
        (String::new(), String::new())
    } else {
        (
            format!("SELECT {select_list} FROM {qualified} WHERE {key_filter}"),
            format!("DELETE FROM {qualified} WHERE {key_filter}"),
        )
    };
    let comment = match &relation.comment {
        Some(c) => quote!(::std::option::Option::Some(#c)),
        None => quote!(::std::option::Option::None),
    };
    let enums = column_enums(ctx.model, relation).into_iter().map(|e| {
        let (schema, name, labels) = (&e.name.schema, &e.name.name, &e.labels);
        quote!(::ormkit::EnumMeta { schema: #schema, name: #name, labels: &[#(#labels),*] })
    });
    quote! {
        ::ormkit::EntityMeta {
            schema: #schema,
            name: #name,
            qualified: #qualified,
            kind: ::ormkit::RelationKind::#kind,
            columns: &[#(#columns),*],
            primary_key: &[#(#key),*],
            foreign_keys: &[#(#fks),*],
            select_list: #select_list,
            select_by_key: #select_by_key,
            delete_by_key: #delete_by_key,
            comment: #comment,
            enums: &[#(#enums),*],
        }
    }
}

/// The enum types `relation`'s columns use, directly, as array elements or under domains;
/// each once, in column order.
fn column_enums<'m>(model: &'m SchemaModel, relation: &Relation) -> Vec<&'m EnumType> {
    let mut out: Vec<&EnumType> = Vec::new();
    for column in &relation.columns {
        let mut ty = column.ty.element();
        // Domains over domains are bounded by the catalog; the limit only guards a cycle.
        for _ in 0..16 {
            match model.domains.iter().find(|d| d.name == ty.name) {
                Some(domain) => ty = domain.base.element(),
                None => break,
            }
        }
        if let Some(e) = model.enums.iter().find(|e| e.name == ty.name) {
            if !out.iter().any(|seen| seen.name == e.name) {
                out.push(e);
            }
        }
    }
    out
}

/// How a column appears in the insert model.
enum InsertField {
    Required,
    /// Nullable without a default: `None` writes NULL.
    Nullable,
    /// NOT NULL with a default: `None` leaves it to the database.
    Defaulted,
    /// Nullable with a default: `None` → default, `Some(None)` → NULL.
    DefaultedNullable,
}

fn insert_field(column: &Column) -> Option<InsertField> {
    if column.is_read_only() {
        return None;
    }
    Some(match (column.nullable, column.has_default()) {
        (false, false) => InsertField::Required,
        (true, false) => InsertField::Nullable,
        (false, true) => InsertField::Defaulted,
        (true, true) => InsertField::DefaultedNullable,
    })
}

fn insert_model(
    ctx: &Ctx<'_>,
    relation: &Relation,
    field_types: &[TokenStream],
) -> Result<TokenStream> {
    let names = &ctx.plan.relations[&relation.name];
    let (row, Some(new)) = (&names.row, &names.new) else {
        return Ok(TokenStream::new());
    };
    let mut fields = Vec::new();
    let mut types = Vec::new();
    let mut binds = Vec::new();
    let mut sets = Vec::new();
    let mut required = Vec::new();
    let mut required_types = Vec::new();
    let mut optional = Vec::new();
    for ((column, field), ty) in relation.columns.iter().zip(&names.fields).zip(field_types) {
        let Some(kind) = insert_field(column) else {
            continue;
        };
        let name = &column.name;
        let (field_ty, bind) = match kind {
            InsertField::Required => {
                required.push(field.clone());
                required_types.push(ty.clone());
                sets.push(quote! { columns.push(#name); });
                (
                    ty.clone(),
                    quote! { columns.push(#name); sink.add_value(self.#field)?; },
                )
            }
            InsertField::Nullable => {
                optional.push(field.clone());
                sets.push(quote! { columns.push(#name); });
                (
                    ty.clone(),
                    quote! { columns.push(#name); sink.add_value(self.#field)?; },
                )
            }
            InsertField::Defaulted | InsertField::DefaultedNullable => {
                optional.push(field.clone());
                sets.push(quote! {
                    if self.#field.is_some() {
                        columns.push(#name);
                    }
                });
                (
                    quote!(::std::option::Option<#ty>),
                    quote! {
                        if let ::std::option::Option::Some(value) = self.#field {
                            columns.push(#name);
                            sink.add_value(value)?;
                        }
                    },
                )
            }
        };
        fields.push(field.clone());
        types.push(field_ty);
        binds.push(bind);
    }
    let doc_text = doc(&format!(
        "A new row for `{}.{}`: columns the database can fill in are `Option`s (`None` = its default); identity ALWAYS and generated columns are absent.",
        relation.name.schema, relation.name.name
    ));
    let derives = ctx.derives(quote!(Debug, Clone, PartialEq), serde_ok(ctx, relation));
    let uses_columns = if sets.is_empty() {
        quote!(let _ = columns;)
    } else {
        quote!()
    };
    let uses_sink = if binds.is_empty() {
        quote!(let _ = (columns, sink);)
    } else {
        quote!()
    };
    Ok(quote! {
        #doc_text
        #derives
        pub struct #new {
            #( pub #fields: #types, )*
        }

        impl #new {
            /// The required columns; every optional one is `None`.
            pub fn new(#( #required: #required_types ),*) -> Self {
                Self { #( #required, )* #( #optional: ::std::option::Option::None, )* }
            }
        }

        impl ::ormkit::InsertModel for #new {
            type Entity = #row;
            fn set_columns(&self, columns: &mut ::std::vec::Vec<&'static str>) {
                #uses_columns
                #( #sets )*
            }
            fn bind_columns<S: ::ormkit::ValueSink>(
                self,
                columns: &mut ::std::vec::Vec<&'static str>,
                sink: &mut S,
            ) -> ::std::result::Result<(), ::ormkit::sqlx::error::BoxDynError> {
                #uses_sink
                #( #binds )*
                ::std::result::Result::Ok(())
            }
        }

        impl ::ormkit::Table for #row {
            type Insert = #new;
        }
    })
}

/// The typed ID, the patch model and `HasPrimaryKey`.
fn keyed(ctx: &Ctx<'_>, relation: &Relation, field_types: &[TokenStream]) -> Result<TokenStream> {
    let names = &ctx.plan.relations[&relation.name];
    let (row, Some(patch)) = (&names.row, &names.patch) else {
        return Ok(TokenStream::new());
    };
    let Some(key) = &relation.primary_key else {
        return Ok(TokenStream::new());
    };
    let index_of = |name: &str| relation.columns.iter().position(|c| c.name == name);
    let key_idx: Vec<usize> = key.columns.iter().filter_map(|k| index_of(k)).collect();
    let key_fields: Vec<_> = key_idx.iter().map(|&i| names.fields[i].clone()).collect();
    let key_types: Vec<_> = key_idx.iter().map(|&i| field_types[i].clone()).collect();
    let mut out = TokenStream::new();
    let id_type = match &names.id {
        Some(id) => {
            let key_col = &relation.columns[key_idx[0]];
            let owner = format!(
                "{}.{}.{}",
                relation.name.schema, relation.name.name, key_col.name
            );
            let depth = ctx.plan.depth(&relation.name.schema);
            let inner = ctx.value_type(&key_col.ty, &owner, false, depth)?;
            let id_doc = doc(&format!(
                "The primary key of `{}.{}`: a `{}` that only this table's rows accept.",
                relation.name.schema, relation.name.name, key_col.ty
            ));
            out.extend(quote! {
                #id_doc
                pub type #id = ::ormkit::Id<#row, #inner>;
            });
            quote!(#id)
        }
        None => quote!((#(#key_types,)*)),
    };
    let id_expr = if key_fields.len() == 1 {
        let f = &key_fields[0];
        quote!(::std::clone::Clone::clone(&self.#f))
    } else {
        quote!((#(::std::clone::Clone::clone(&self.#key_fields),)*))
    };
    let key_value = if key_fields.len() == 1 {
        let f = &key_fields[0];
        quote!(self.#f)
    } else {
        quote!((#(self.#key_fields,)*))
    };
    let mut set_fields = Vec::new();
    let mut set_types = Vec::new();
    let mut set_names = Vec::new();
    for ((i, column), ty) in relation.columns.iter().enumerate().zip(field_types) {
        if key_idx.contains(&i) || column.is_read_only() {
            continue;
        }
        set_fields.push(names.fields[i].clone());
        set_types.push(ty.clone());
        set_names.push(column.name.as_str());
    }
    let patch_doc = doc(&format!(
        "Changes to one row of `{}.{}`: the key, and `Some` for every column to write.",
        relation.name.schema, relation.name.name
    ));
    let derives = ctx.derives(quote!(Debug, Clone, PartialEq), serde_ok(ctx, relation));
    let uses_args = if set_fields.is_empty() {
        quote!(let _ = (columns, args);)
    } else {
        quote!(
            use ::ormkit::sqlx::Arguments as _;
        )
    };
    let key_args = format_ident!("key");
    out.extend(quote! {
        #patch_doc
        #derives
        pub struct #patch {
            #( pub #key_fields: #key_types, )*
            #( pub #set_fields: ::std::option::Option<#set_types>, )*
        }

        impl #patch {
            /// A patch of the row with this key that changes nothing yet.
            pub fn new(#( #key_fields: #key_types ),*) -> Self {
                Self { #( #key_fields, )* #( #set_fields: ::std::option::Option::None, )* }
            }
        }

        impl ::ormkit::PatchModel for #patch {
            type Entity = #row;
            fn is_empty(&self) -> bool {
                true #( && self.#set_fields.is_none() )*
            }
            fn bind_changes(
                self,
                columns: &mut ::std::vec::Vec<&'static str>,
                args: &mut ::ormkit::sqlx::postgres::PgArguments,
            ) -> ::std::result::Result<#id_type, ::ormkit::sqlx::error::BoxDynError> {
                #uses_args
                #(
                    if let ::std::option::Option::Some(value) = self.#set_fields {
                        columns.push(#set_names);
                        args.add(value)?;
                    }
                )*
                let #key_args = #key_value;
                ::std::result::Result::Ok(#key_args)
            }
        }

        impl ::ormkit::HasPrimaryKey for #row {
            type Id = #id_type;
            type Patch = #patch;
            fn id(&self) -> Self::Id {
                #id_expr
            }
        }
    });
    Ok(out)
}

/// Key types whose `Display` text PostgreSQL reads back as the same value.
const TEXT_KEY_TYPES: &[&str] = &[
    "int2", "int4", "int8", "text", "varchar", "bpchar", "name", "citext", "uuid", "numeric",
    "bool", "date",
];

/// `vec![row.a.to_string(), …]` for the key columns; `row.a.as_ref()?` for nullable ones when
/// `nullable_ok` (the closure then returns an `Option`). `None` when a key column's type has
/// no faithful text form, or is nullable where that is not allowed: no relation constant then.
fn key_text(
    ctx: &Ctx<'_>,
    relation: &Relation,
    columns: &[String],
    nullable_ok: bool,
) -> Option<TokenStream> {
    let names = &ctx.plan.relations[&relation.name];
    let mut parts = Vec::new();
    for column in columns {
        let index = relation.columns.iter().position(|c| &c.name == column)?;
        let col = &relation.columns[index];
        let (resolved, _) = ctx.model.resolve(&col.ty);
        let textual = !resolved.array
            && (matches!(ctx.model.type_def(&resolved.name), TypeDef::Enum(_))
                || TEXT_KEY_TYPES.contains(&resolved.name.name.as_str()));
        if !textual || (col.nullable && !nullable_ok) {
            return None;
        }
        let field = &names.fields[index];
        parts.push(if col.nullable {
            quote!(::std::string::ToString::to_string(row.#field.as_ref()?))
        } else {
            quote!(::std::string::ToString::to_string(&row.#field))
        });
    }
    Some(quote!(::std::vec::Vec::from([#(#parts),*])))
}

/// `pub mod users { pub const EMAIL: Column<User, String> = …; pub const POSTS: HasMany<…> }`
fn constants(ctx: &Ctx<'_>, relation: &Relation, field_types: &[TokenStream]) -> TokenStream {
    let names = &ctx.plan.relations[&relation.name];
    let module = &names.module;
    let depth = ctx.plan.depth(&relation.name.schema) + 1;
    let row_here = ctx.plan.path(&relation.name.schema, &names.row, depth);
    // Field types were rendered for the schema module; inside the table module they need
    // one more `super::`, so re-render them at this depth.
    let types: Vec<TokenStream> = relation
        .columns
        .iter()
        .zip(field_types)
        .map(|(c, fallback)| {
            field_type(ctx, relation, c, depth).unwrap_or_else(|_| fallback.clone())
        })
        .collect();
    let consts = &names.column_consts;
    let col_names: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
    let access = relation.columns.iter().map(|c| {
        if c.is_read_only() || !relation.kind.is_writable() {
            quote!(, ::ormkit::ReadOnly)
        } else {
            quote!()
        }
    });
    let col_docs = col_names.iter().map(|c| doc(&format!("The column `{c}`.")));
    let rels = ctx
        .plan
        .relation_consts
        .get(&relation.name)
        .into_iter()
        .flatten()
        .filter_map(|rc| {
            let from = &ctx.plan.relations[&rc.from];
            let to = &ctx.plan.relations[&rc.to];
            let from_path = ctx.plan.path(&rc.from.schema, &from.row, depth);
            let to_path = ctx.plan.path(&rc.to.schema, &to.row, depth);
            let fk = rc.fk;
            let name = &rc.name;
            let from_rel = ctx.model.relation(&rc.from)?;
            let to_rel = ctx.model.relation(&rc.to)?;
            let fk_meta = &from_rel.foreign_keys[fk];
            let fk_name = &fk_meta.name;
            let from_key = key_text(ctx, from_rel, &fk_meta.columns, true)?;
            let to_key = key_text(ctx, to_rel, &fk_meta.referenced_columns, false)?;
            Some(if rc.has_many {
                let d = doc(&format!("The `{}` rows pointing here through `{fk_name}`.", rc.from));
                quote! {
                    #d
                    pub const #name: ::ormkit::HasMany<#to_path, #from_path> = ::ormkit::HasMany::new(
                        &<#from_path as ::ormkit::Entity>::META.foreign_keys[#fk],
                        |row: &#to_path| #to_key,
                        |row: &#from_path| ::std::option::Option::Some(#from_key),
                    );
                }
            } else {
                let d = doc(&format!("The `{}` row this one references through `{fk_name}`.", rc.to));
                quote! {
                    #d
                    pub const #name: ::ormkit::BelongsTo<#from_path, #to_path> = ::ormkit::BelongsTo::new(
                        &<#from_path as ::ormkit::Entity>::META.foreign_keys[#fk],
                        |row: &#from_path| ::std::option::Option::Some(#from_key),
                        |row: &#to_path| #to_key,
                    );
                }
            })
        });
    let module_doc = doc(&format!(
        "Typed columns and relations of `{}.{}`, for queries.",
        relation.name.schema, relation.name.name
    ));
    quote! {
        #module_doc
        pub mod #module {
            #(
                #col_docs
                pub const #consts: ::ormkit::Column<#row_here, #types #access> = ::ormkit::Column::new(#col_names);
            )*
            #(#rels)*
        }
    }
}
