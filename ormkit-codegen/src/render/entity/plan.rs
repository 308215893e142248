//! What one table or view becomes, decided before anything is emitted: each column's field,
//! constant and Rust type, how the insert and patch models treat it, the key, and every
//! relation constant with the typed key both sides are matched on (or why there is none).

use super::super::plan::{Here, RelationNames};
use super::super::Ctx;
use crate::error::Result;
use crate::names::{ident, rust_name, Case};
use crate::types::{check_forbids_null_elements, KeyTraits};
use ormkit_schema::{Column, ForeignKey, Relation, TypeDef};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// How a column appears in the insert model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InsertField {
    /// NOT NULL without a default: a plain field, an argument of `new`.
    Required,
    /// Nullable without a default: `None` writes NULL.
    Nullable,
    /// NOT NULL with a default: `None` leaves it to the database.
    Defaulted,
    /// Nullable with a default: `None` → default, `Some(None)` → NULL.
    DefaultedNullable,
}

/// One column's Rust type, as seen from one module.
#[derive(Debug, Clone)]
pub(super) struct ColumnType {
    /// The value's type, without the `Option` of a nullable column.
    pub(super) value: TokenStream,
    /// For a typed ID (`UserId`), the type it wraps.
    pub(super) id_inner: Option<TokenStream>,
    pub(super) traits: KeyTraits,
}

#[derive(Debug)]
pub(super) struct ColumnPlan<'m> {
    pub(super) column: &'m Column,
    pub(super) field: Ident,
    pub(super) konst: Ident,
    pub(super) ty: ColumnType,
    /// `None`: not in the insert model (read-only).
    pub(super) insert: Option<InsertField>,
    /// In the patch model: writable and not part of the key.
    pub(super) patchable: bool,
    /// How its values are bound and read beyond their Rust type.
    pub(super) binding: crate::types::Binding,
}

impl ColumnPlan<'_> {
    /// The field's type: the value type, in `Option` when nullable.
    pub(super) fn field_type(&self) -> TokenStream {
        let value = &self.ty.value;
        if self.column.nullable {
            quote!(Option<#value>)
        } else {
            value.clone()
        }
    }
}

/// The primary key of a table that has the keyed API.
#[derive(Debug)]
pub(super) struct KeyPlan {
    /// The key columns, by index, in key order.
    pub(super) columns: Vec<usize>,
    /// `UserId`, or `(i32, i64)` for a composite key.
    pub(super) ty: TokenStream,
}

/// A relation constant of this table's module, decided.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) name: Ident,
    pub(super) has_many: bool,
    /// The foreign key's index among the referencing table's foreign keys.
    pub(super) fk: usize,
    pub(super) fk_name: String,
    /// The referencing and referenced relations' SQL names and row types, seen from here.
    pub(super) from_sql: String,
    pub(super) to_sql: String,
    pub(super) from: TokenStream,
    pub(super) to: TokenStream,
    /// What the two sides are matched on.
    pub(super) key: Result<MatchKey, String>,
}

/// A many-to-many relation constant of this table's module, decided.
#[derive(Debug)]
pub(super) struct ManyLink {
    pub(super) name: Ident,
    pub(super) from_fk: usize,
    pub(super) to_fk: usize,
    /// The link table's SQL name.
    pub(super) link_sql: String,
    pub(super) to_sql: String,
    /// This table's, the target's and the link table's row types, seen from here.
    pub(super) from: TokenStream,
    pub(super) to: TokenStream,
    pub(super) link: TokenStream,
    /// This table's key and the link's column(s) referencing it: `from` is the link row's
    /// side, `to` this table's.
    pub(super) key: Result<MatchKey, String>,
}

/// The typed key a relation matches, and each side's key (an expression of `r`, the row,
/// evaluating to `Option<K>`).
#[derive(Debug)]
pub(super) struct MatchKey {
    pub(super) ty: TokenStream,
    pub(super) from: TokenStream,
    pub(super) to: TokenStream,
}

/// A typed accessor for a composite foreign key to its target's primary key.
#[derive(Debug)]
pub(super) struct Accessor {
    pub(super) name: Ident,
    pub(super) fk_name: String,
    pub(super) to_sql: String,
    pub(super) ty: TokenStream,
    pub(super) body: TokenStream,
    pub(super) optional: bool,
}

pub(super) struct TablePlan<'m> {
    pub(super) relation: &'m Relation,
    pub(super) names: &'m RelationNames,
    pub(super) sql_name: String,
    pub(super) columns: Vec<ColumnPlan<'m>>,
    pub(super) key: Option<KeyPlan>,
    /// Why a table with a primary key has no keyed API, if it has none.
    pub(super) no_key_api: Option<String>,
    pub(super) links: Vec<Link>,
    pub(super) many: Vec<ManyLink>,
    pub(super) accessors: Vec<Accessor>,
}

impl<'m> TablePlan<'m> {
    pub(super) fn new(ctx: &'m Ctx<'m>, relation: &'m Relation) -> Result<Self> {
        let names = &ctx.plan.relations[&relation.name];
        let here = Here::schema(&relation.name.schema);
        let writable = relation.kind.is_writable();
        let key_names: &[String] = relation
            .primary_key
            .as_ref()
            .map_or(&[], |k| k.columns.as_slice());
        let mut columns = Vec::with_capacity(relation.columns.len());
        for (i, column) in relation.columns.iter().enumerate() {
            let in_key = key_names.contains(&column.name);
            let ty = column_type(ctx, relation, column, here)?;
            let owner = format!(
                "{}.{}.{}",
                relation.name.schema, relation.name.name, column.name
            );
            let binding = ctx.binding(
                &column.ty,
                &owner,
                ty.id_inner.as_ref().unwrap_or(&ty.value),
            );
            columns.push(ColumnPlan {
                column,
                field: names.fields[i].clone(),
                konst: names.column_consts[i].clone(),
                binding,
                ty,
                insert: (writable && !column.is_read_only()).then(|| insert_field(column)),
                patchable: writable && !column.is_read_only() && !in_key,
            });
        }
        let (key, no_key_api) = match (&names.patch, &relation.primary_key) {
            (Some(_), Some(pk)) => {
                let idx: Vec<usize> = pk
                    .columns
                    .iter()
                    .filter_map(|k| relation.columns.iter().position(|c| &c.name == k))
                    .collect();
                match idx.iter().find(|&&i| !columns[i].ty.traits.key_part) {
                    Some(&bad) => (
                        None,
                        Some(format!(
                            "its key column `{}` has a type that cannot be a key part",
                            columns[bad].column.name
                        )),
                    ),
                    None => (Some(key_plan(&columns, &idx, names.id.as_ref())), None),
                }
            }
            _ => (None, None),
        };
        let mut plan = TablePlan {
            relation,
            names,
            sql_name: format!("{}.{}", relation.name.schema, relation.name.name),
            columns,
            key,
            no_key_api,
            links: Vec::new(),
            many: Vec::new(),
            accessors: Vec::new(),
        };
        plan.links = links(ctx, relation, Here::table(&relation.name.schema))?;
        plan.many = many_links(ctx, relation, Here::table(&relation.name.schema))?;
        plan.accessors = accessors(ctx, relation, here)?;
        Ok(plan)
    }
}

fn insert_field(column: &Column) -> InsertField {
    match (column.nullable, column.has_default()) {
        (false, false) => InsertField::Required,
        (true, false) => InsertField::Nullable,
        (false, true) => InsertField::Defaulted,
        (true, true) => InsertField::DefaultedNullable,
    }
}

/// `x` for `Copy` values, `x.clone()` otherwise.
fn copied(expr: TokenStream, traits: KeyTraits) -> TokenStream {
    if traits.copy {
        expr
    } else {
        quote!(#expr.clone())
    }
}

fn key_plan(columns: &[ColumnPlan<'_>], idx: &[usize], id: Option<&Ident>) -> KeyPlan {
    let ty = match (id, idx) {
        (Some(id), [_]) => quote!(#id),
        _ => {
            let types = idx.iter().map(|&i| &columns[i].ty.value);
            quote!((#(#types,)*))
        }
    };
    KeyPlan {
        columns: idx.to_vec(),
        ty,
    }
}

/// The Rust type of `column`'s values seen from `here`: the typed ID of
/// the table it is the key of, or references alone, else the mapped type.
pub(super) fn column_type(
    ctx: &Ctx<'_>,
    relation: &Relation,
    column: &Column,
    here: Here<'_>,
) -> Result<ColumnType> {
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
    let value = ctx.value_type(&column.ty, &owner, non_null_elements, here)?;
    let traits = ctx.key_traits(&column.ty, &value);
    Ok(match typed_id(ctx, relation, column, here) {
        Some(id) => ColumnType {
            value: id,
            id_inner: Some(value),
            traits,
        },
        None => ColumnType {
            value,
            id_inner: None,
            traits,
        },
    })
}

/// `UserId` for the key column of `users` and for every column that references it alone.
fn typed_id(
    ctx: &Ctx<'_>,
    relation: &Relation,
    column: &Column,
    here: Here<'_>,
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
    (key_col.ty == column.ty).then(|| ctx.plan.path(&target.name.schema, id, here))
}

/// One key part: the referencing column's value converted to the referenced column's type,
/// as an expression of `on` (`r` or `self`), evaluating to `Option<part>` when `nullable`.
fn part(
    on: &TokenStream,
    field: &Ident,
    have: &ColumnType,
    want: &ColumnType,
    nullable: bool,
) -> std::result::Result<TokenStream, String> {
    let same = have.value.to_string() == want.value.to_string();
    let into_id = want
        .id_inner
        .as_ref()
        .is_some_and(|inner| inner.to_string() == have.value.to_string());
    let from_id = have
        .id_inner
        .as_ref()
        .is_some_and(|inner| inner.to_string() == want.value.to_string());
    let value = copied(quote!(#on.#field), have.traits);
    Ok(match (same, into_id, from_id, nullable) {
        (true, _, _, _) => value,
        (_, true, _, false) => quote!(::ormkit::Id::new(#value)),
        (_, true, _, true) => quote!(#value.map(::ormkit::Id::new)),
        (_, _, true, false) => quote!(#value.into_inner()),
        (_, _, true, true) => quote!(#value.map(::ormkit::Id::into_inner)),
        _ => {
            return Err(format!(
                "its columns' Rust types differ (`{}` and `{}`)",
                have.value, want.value
            ))
        }
    })
}

/// Both sides' keys of `fk` (declared on `from`, referencing `to`), seen from `here`.
fn match_key(
    ctx: &Ctx<'_>,
    from: &Relation,
    to: &Relation,
    fk: &ForeignKey,
    here: Here<'_>,
) -> Result<std::result::Result<MatchKey, String>> {
    let (from_names, to_names) = (
        &ctx.plan.relations[&from.name],
        &ctx.plan.relations[&to.name],
    );
    let r = quote!(r);
    let mut types = Vec::new();
    let (mut from_parts, mut to_parts) = (Vec::new(), Vec::new());
    let mut nullable = (Vec::new(), Vec::new());
    for (f, t) in fk.columns.iter().zip(&fk.referenced_columns) {
        let (Some(fi), Some(ti)) = (
            from.columns.iter().position(|c| &c.name == f),
            to.columns.iter().position(|c| &c.name == t),
        ) else {
            return Ok(Err("a column it names is not in the model".into()));
        };
        let (fc, tc) = (&from.columns[fi], &to.columns[ti]);
        let have = column_type(ctx, from, fc, here)?;
        let want = column_type(ctx, to, tc, here)?;
        if !want.traits.key_part {
            return Ok(Err(format!(
                "the type of `{}` cannot be a key part (it has no `Hash`/`Eq` or array binding)",
                tc.name
            )));
        }
        let from_part = match part(&r, &from_names.fields[fi], &have, &want, fc.nullable) {
            Ok(p) => p,
            Err(why) => return Ok(Err(why)),
        };
        let field = &to_names.fields[ti];
        to_parts.push(copied(quote!(r.#field), want.traits));
        from_parts.push(from_part);
        nullable.0.push(fc.nullable);
        nullable.1.push(tc.nullable);
        types.push(want.value);
    }
    let side = |parts: Vec<TokenStream>, nullable: Vec<bool>| match parts.as_slice() {
        [one] if nullable[0] => one.clone(),
        [one] => quote!(Some(#one)),
        _ => {
            let parts = parts
                .iter()
                .zip(&nullable)
                .map(|(p, &n)| if n { quote!(#p?) } else { p.clone() });
            quote!(Some((#(#parts,)*)))
        }
    };
    let ty = match types.as_slice() {
        [one] => one.clone(),
        _ => quote!((#(#types,)*)),
    };
    Ok(Ok(MatchKey {
        ty,
        from: side(from_parts, nullable.0),
        to: side(to_parts, nullable.1),
    }))
}

/// The relation constants declared in `relation`'s module.
fn links(ctx: &Ctx<'_>, relation: &Relation, here: Here<'_>) -> Result<Vec<Link>> {
    let mut out = Vec::new();
    for rc in ctx
        .plan
        .relation_consts
        .get(&relation.name)
        .into_iter()
        .flatten()
    {
        let (Some(from), Some(to)) = (ctx.model.relation(&rc.from), ctx.model.relation(&rc.to))
        else {
            continue;
        };
        let fk = &from.foreign_keys[rc.fk];
        let (from_names, to_names) = (&ctx.plan.relations[&rc.from], &ctx.plan.relations[&rc.to]);
        let mut key = match_key(ctx, from, to, fk, here)?;
        if let Ok(k) = &mut key {
            // A composite key with an accessor reads through it.
            if rc.fk_accessor.is_some() {
                let name = rc.fk_accessor.as_ref().map(|n| ident(n));
                let optional = fk
                    .columns
                    .iter()
                    .any(|c| from.column(c).is_some_and(|c| c.nullable));
                k.from = if optional {
                    quote!(r.#name())
                } else {
                    quote!(Some(r.#name()))
                };
            }
        }
        out.push(Link {
            name: rc.name.clone(),
            has_many: rc.has_many,
            fk: rc.fk,
            fk_name: fk.name.clone(),
            from_sql: rc.from.to_string(),
            to_sql: rc.to.to_string(),
            from: ctx.plan.path(&rc.from.schema, &from_names.row, here),
            to: ctx.plan.path(&rc.to.schema, &to_names.row, here),
            key,
        });
    }
    Ok(out)
}

/// The many-to-many relation constants declared in `relation`'s module.
fn many_links(ctx: &Ctx<'_>, relation: &Relation, here: Here<'_>) -> Result<Vec<ManyLink>> {
    let mut out = Vec::new();
    for m in ctx
        .plan
        .many_to_many
        .get(&relation.name)
        .into_iter()
        .flatten()
    {
        let (Some(link), Some(to)) = (ctx.model.relation(&m.link), ctx.model.relation(&m.to))
        else {
            continue;
        };
        let fk = &link.foreign_keys[m.from_fk];
        let key = match_key(ctx, link, relation, fk, here)?;
        let names = |name: &ormkit_schema::QualifiedName| &ctx.plan.relations[name];
        out.push(ManyLink {
            name: m.name.clone(),
            from_fk: m.from_fk,
            to_fk: m.to_fk,
            link_sql: m.link.to_string(),
            to_sql: m.to.to_string(),
            from: ctx.plan.path(&m.from.schema, &names(&m.from).row, here),
            to: ctx.plan.path(&to.name.schema, &names(&m.to).row, here),
            link: ctx.plan.path(&link.name.schema, &names(&m.link).row, here),
            key,
        });
    }
    Ok(out)
}

/// Accessors for `relation`'s composite foreign keys that reference a primary key.
fn accessors(ctx: &Ctx<'_>, relation: &Relation, here: Here<'_>) -> Result<Vec<Accessor>> {
    let mut out = Vec::new();
    let consts = ctx.plan.relation_consts.get(&relation.name);
    for rc in consts.into_iter().flatten().filter(|rc| !rc.has_many) {
        let Some(name) = &rc.fk_accessor else {
            continue;
        };
        let Some(to) = ctx.model.relation(&rc.to) else {
            continue;
        };
        let fk = &relation.foreign_keys[rc.fk];
        let names = &ctx.plan.relations[&relation.name];
        let on = quote!(self);
        let mut parts = Vec::new();
        let mut types = Vec::new();
        let mut optional = false;
        for (f, t) in fk.columns.iter().zip(&fk.referenced_columns) {
            let (Some(fi), Some(tc)) = (
                relation.columns.iter().position(|c| &c.name == f),
                to.column(t),
            ) else {
                continue;
            };
            let fc = &relation.columns[fi];
            let have = column_type(ctx, relation, fc, here)?;
            let want = column_type(ctx, to, tc, here)?;
            let Ok(p) = part(&on, &names.fields[fi], &have, &want, false) else {
                continue;
            };
            optional |= fc.nullable;
            parts.push(if fc.nullable { quote!(#p?) } else { p });
            types.push(want.value);
        }
        if parts.len() != fk.columns.len() {
            continue;
        }
        let ty = quote!((#(#types,)*));
        let body = if optional {
            quote!(Some((#(#parts,)*)))
        } else {
            quote!((#(#parts,)*))
        };
        out.push(Accessor {
            name: ident(name),
            fk_name: fk.name.clone(),
            to_sql: rc.to.to_string(),
            ty,
            body,
            optional,
        });
    }
    Ok(out)
}

/// The accessor name of a composite foreign key: the `BelongsTo` constant's, in snake case,
/// with `_key`.
pub(crate) fn accessor_name(belongs_to: &str) -> String {
    format!("{}_key", rust_name(belongs_to, Case::Snake))
}

/// The Rust type of the table column `origin` names (`public.users.id`, as a checked query's
/// lock records it), seen from `here`, when a value of `ty` is that column's: its typed ID, its
/// enum, its override.
pub(crate) fn origin_type(
    ctx: &Ctx<'_>,
    origin: &str,
    ty: &ormkit_schema::TypeRef,
    here: Here<'_>,
) -> Result<Option<TokenStream>> {
    for relation in &ctx.model.relations {
        for column in &relation.columns {
            let name = format!(
                "{}.{}",
                relation.name,
                ormkit_schema::quote_ident_if_needed(&column.name)
            );
            if name != origin {
                continue;
            }
            let (base, _) = ctx.model.resolve(&column.ty);
            if base != *ty && column.ty != *ty {
                return Ok(None);
            }
            return Ok(Some(column_type(ctx, relation, column, here)?.value));
        }
    }
    Ok(None)
}
