//! Naming plan: every Rust identifier the generated file will use, decided once, up front,
//! in the model's canonical order, so output is deterministic and collisions are resolved
//! the same way on every run.

use crate::config::Config;
use crate::names::{ident, rust_name, singular, Case, Scope};
use ormkit_schema::{QualifiedName, Relation, SchemaModel};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use std::collections::{BTreeMap, HashMap};

/// Names reserved in the entities module itself.
const ROOT_RESERVED: &[&str] = &[
    // The prelude names generated code uses unqualified.
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "SCHEMA_FINGERPRINT",
    "MIGRATIONS_DIGEST",
    "SCHEMA_LOCK",
    "MIGRATIONS",
    "ENTITIES",
    "queries",
    "ormkit",
    "std",
    "core",
    "alloc",
];

/// The Rust names of one relation's items.
#[derive(Debug)]
pub(crate) struct RelationNames {
    pub(crate) row: Ident,
    pub(crate) new: Option<Ident>,
    pub(crate) patch: Option<Ident>,
    pub(crate) id: Option<Ident>,
    pub(crate) module: Ident,
    /// One per column, in column order.
    pub(crate) fields: Vec<Ident>,
    /// One per column, in column order.
    pub(crate) column_consts: Vec<Ident>,
}

/// A relation constant (`posts::AUTHOR`, `users::POSTS`).
#[derive(Debug)]
pub(crate) struct RelationConst {
    pub(crate) name: Ident,
    /// The relation holding the foreign key.
    pub(crate) from: QualifiedName,
    /// Index of the foreign key in `from.foreign_keys`.
    pub(crate) fk: usize,
    /// The referenced relation.
    pub(crate) to: QualifiedName,
    /// `true` for `HasMany` (declared on `to`), `false` for `BelongsTo` (declared on `from`).
    pub(crate) has_many: bool,
    /// For a composite foreign key to `to`'s primary key: the name of the accessor on
    /// `from`'s rows that returns the referenced key.
    pub(crate) fk_accessor: Option<String>,
}

/// A many-to-many relation constant (`posts::LABELS`): from one table to another through a
/// link table that is two foreign keys plus an optional payload.
#[derive(Debug)]
pub(crate) struct ManyToManyConst {
    pub(crate) name: Ident,
    /// The link table.
    pub(crate) link: QualifiedName,
    /// Index, in the link table's foreign keys, of the one referencing `from` and of the one
    /// referencing `to`.
    pub(crate) from_fk: usize,
    pub(crate) to_fk: usize,
    pub(crate) from: QualifiedName,
    pub(crate) to: QualifiedName,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// The schema rendered at the top of the entities module.
    pub(crate) top: String,
    /// `None` for the schema rendered at the top (public).
    pub(crate) schema_modules: BTreeMap<String, Option<Ident>>,
    /// Enums, composites and domain aliases.
    pub(crate) types: HashMap<QualifiedName, Ident>,
    pub(crate) relations: HashMap<QualifiedName, RelationNames>,
    /// Relation constants, keyed by the relation whose module declares them.
    pub(crate) relation_consts: BTreeMap<QualifiedName, Vec<RelationConst>>,
    /// Many-to-many relation constants, keyed by the relation whose module declares them.
    pub(crate) many_to_many: BTreeMap<QualifiedName, Vec<ManyToManyConst>>,
}

impl Plan {
    pub(crate) fn new(model: &SchemaModel, config: &Config) -> Plan {
        let mut plan = Plan::default();
        let top = if model.schemas.iter().any(|s| s == "public") || model.schemas.is_empty() {
            "public".to_owned()
        } else {
            model.schemas[0].clone()
        };
        let mut root = Scope::with_reserved(ROOT_RESERVED);
        let mut scopes: BTreeMap<String, Scope> = BTreeMap::new();
        let mut schemas: Vec<&String> = model.schemas.iter().collect();
        schemas.sort();
        for schema in schemas {
            if *schema == top {
                plan.schema_modules.insert(schema.clone(), None);
            } else {
                let name = root.claim(&rust_name(schema, Case::Snake));
                plan.schema_modules
                    .insert(schema.clone(), Some(ident(&name)));
                scopes.insert(schema.clone(), Scope::with_reserved(ROOT_RESERVED));
            }
        }
        scopes.insert(top.clone(), root);
        plan.top = top;

        let type_names = model
            .enums
            .iter()
            .map(|e| &e.name)
            .chain(model.composites.iter().map(|c| &c.name))
            .chain(model.domains.iter().map(|d| &d.name));
        for name in type_names {
            let claimed =
                scope_of(&mut scopes, &name.schema).claim(&rust_name(&name.name, Case::Camel));
            plan.types.insert(name.clone(), ident(&claimed));
        }

        for relation in &model.relations {
            let scope = scope_of(&mut scopes, &relation.name.schema);
            let base_sql = if config.singularize {
                singular(&relation.name.name)
            } else {
                relation.name.name.clone()
            };
            let base = rust_name(&base_sql, Case::Camel);
            let writable = relation.kind.is_writable();
            let keyed = writable && relation.primary_key.is_some();
            let single_key = keyed
                && relation
                    .primary_key
                    .as_ref()
                    .is_some_and(|k| k.columns.len() == 1);
            let mut patterns = vec!["{}"];
            if writable {
                patterns.push("New{}");
            }
            if keyed {
                patterns.push("{}Patch");
            }
            if single_key {
                patterns.push("{}Id");
            }
            let mut group = scope.claim_group(&base, &patterns).into_iter();
            let row = ident(&group.next().unwrap_or_default());
            let new = writable.then(|| ident(&group.next().unwrap_or_default()));
            let patch = keyed.then(|| ident(&group.next().unwrap_or_default()));
            let id = single_key.then(|| ident(&group.next().unwrap_or_default()));
            let module = ident(&scope.claim(&rust_name(&relation.name.name, Case::Snake)));
            plan.relations.insert(
                relation.name.clone(),
                RelationNames {
                    row,
                    new,
                    patch,
                    id,
                    module,
                    fields: field_names(relation),
                    column_consts: Vec::new(),
                },
            );
        }
        plan.plan_constants(model);
        plan
    }

    /// Column constants first (in column order), then relation constants, in one scope per
    /// table module.
    fn plan_constants(&mut self, model: &SchemaModel) {
        let mut scopes: HashMap<QualifiedName, Scope> = HashMap::new();
        // Inherent methods of each row type (`query` and the foreign-key accessors).
        let mut methods: HashMap<QualifiedName, Scope> = HashMap::new();
        for relation in &model.relations {
            let mut scope = Scope::default();
            let consts = relation
                .columns
                .iter()
                .map(|c| ident(&scope.claim(&rust_name(&c.name, Case::Shouty))))
                .collect();
            if let Some(names) = self.relations.get_mut(&relation.name) {
                names.column_consts = consts;
            }
            scopes.insert(relation.name.clone(), scope);
        }
        for from in &model.relations {
            for (i, fk) in from.foreign_keys.iter().enumerate() {
                let Some(to) = model.relation(&fk.references) else {
                    continue;
                };
                let parallel = from
                    .foreign_keys
                    .iter()
                    .filter(|other| other.references == fk.references)
                    .count();
                let belongs = match fk.columns.as_slice() {
                    [one] if one.len() > 3 && one.to_ascii_lowercase().ends_with("_id") => {
                        one[..one.len() - 3].to_owned()
                    }
                    _ if parallel == 1 => singular(&to.name.name),
                    _ => fk.name.clone(),
                };
                let many = if parallel == 1 {
                    from.name.name.clone()
                } else {
                    format!("{}_by_{belongs}", from.name.name)
                };
                let to_key = to.primary_key.as_ref().map(|k| &k.columns);
                let fk_accessor = (fk.columns.len() > 1 && to_key == Some(&fk.referenced_columns))
                    .then(|| {
                        methods
                            .entry(from.name.clone())
                            .or_insert_with(|| Scope::with_reserved(&["query", "subquery"]))
                            .claim(&super::entity::accessor_name(&belongs))
                    });
                for (owner, text, has_many) in [(from, belongs, false), (to, many, true)] {
                    let scope = scopes.entry(owner.name.clone()).or_default();
                    let name = ident(&scope.claim(&rust_name(&text, Case::Shouty)));
                    self.relation_consts
                        .entry(owner.name.clone())
                        .or_default()
                        .push(RelationConst {
                            name,
                            from: from.name.clone(),
                            fk: i,
                            to: to.name.clone(),
                            has_many,
                            fk_accessor: fk_accessor.clone(),
                        });
                }
            }
        }
        for link in &model.relations {
            let Some((a, b)) = link_table(link) else {
                continue;
            };
            for (from_fk, to_fk) in [(a, b), (b, a)] {
                let (from, to) = (
                    &link.foreign_keys[from_fk].references,
                    &link.foreign_keys[to_fk].references,
                );
                if model.relation(from).is_none() || model.relation(to).is_none() {
                    continue;
                }
                // `posts::LABELS`; between a table and itself, named after the link's column
                // (`users::FOLLOWEES` through `follows.followee_id`).
                let text = if from == to {
                    match link.foreign_keys[to_fk].columns.as_slice() {
                        [one] if one.len() > 3 && one.to_ascii_lowercase().ends_with("_id") => {
                            format!("{}s", &one[..one.len() - 3])
                        }
                        _ => format!("{}_by_{}", to.name, link.foreign_keys[to_fk].name),
                    }
                } else {
                    to.name.clone()
                };
                let scope = scopes.entry(from.clone()).or_default();
                let name = ident(&scope.claim(&rust_name(&text, Case::Shouty)));
                self.many_to_many
                    .entry(from.clone())
                    .or_default()
                    .push(ManyToManyConst {
                        name,
                        link: link.name.clone(),
                        from_fk,
                        to_fk,
                        from: from.clone(),
                        to: to.clone(),
                    });
            }
        }
    }

    /// The path to an item of schema `schema` called `name`, seen from `here`.
    pub(crate) fn path(&self, schema: &str, name: &Ident, here: Here<'_>) -> TokenStream {
        if schema == here.schema {
            // The same schema module, or a table module below it (which glob-imports it).
            return quote!(#name);
        }
        let depth = self.depth(here.schema) + usize::from(here.table_module);
        let supers = (0..depth).map(|_| quote!(super::));
        match self.schema_modules.get(schema).and_then(Option::as_ref) {
            Some(module) => quote!(#(#supers)* #module::#name),
            None => quote!(#(#supers)* #name),
        }
    }

    /// How deep a schema's module is below the entities module.
    pub(crate) fn depth(&self, schema: &str) -> usize {
        usize::from(matches!(self.schema_modules.get(schema), Some(Some(_))))
    }

    /// Every type-namespace name the generated code declares in `schema`'s module.
    pub(crate) fn type_names(&self, schema: &str) -> std::collections::BTreeSet<String> {
        let rows = self
            .relations
            .iter()
            .filter(|(name, _)| name.schema == schema)
            .flat_map(|(_, n)| {
                [
                    Some(&n.row),
                    n.new.as_ref(),
                    n.patch.as_ref(),
                    n.id.as_ref(),
                    Some(&n.module),
                ]
                .into_iter()
                .flatten()
            });
        let types = self
            .types
            .iter()
            .filter(|(name, _)| name.schema == schema)
            .map(|(_, ident)| ident);
        rows.chain(types).map(ToString::to_string).collect()
    }

    pub(crate) fn type_path(&self, name: &QualifiedName, here: Here<'_>) -> TokenStream {
        match self.types.get(name) {
            Some(ident) => self.path(&name.schema, ident, here),
            None => quote!(()),
        }
    }
}

/// Where generated code is being written: a schema's module, or a table's module below it
/// (`pub mod users { use super::*; … }`), from which the schema's items are seen unqualified.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Here<'a> {
    pub(crate) schema: &'a str,
    pub(crate) table_module: bool,
}

impl<'a> Here<'a> {
    pub(crate) fn schema(schema: &'a str) -> Self {
        Here {
            schema,
            table_module: false,
        }
    }

    pub(crate) fn table(schema: &'a str) -> Self {
        Here {
            schema,
            table_module: true,
        }
    }
}

/// The two foreign keys of a link table: a table with exactly two foreign keys whose columns,
/// together, are its primary key or a unique constraint (the rest of its columns are a
/// payload).
fn link_table(relation: &Relation) -> Option<(usize, usize)> {
    if !relation.kind.is_writable() {
        return None;
    }
    let [a, b] = relation.foreign_keys.as_slice() else {
        return None;
    };
    let mut both: Vec<&String> = a.columns.iter().chain(&b.columns).collect();
    both.sort();
    let before = both.len();
    both.dedup();
    if both.len() != before {
        return None;
    }
    let keys = relation.primary_key.iter().chain(&relation.unique);
    let is_key = keys.into_iter().any(|key| {
        let mut columns: Vec<&String> = key.columns.iter().collect();
        columns.sort();
        columns == both
    });
    is_key.then_some((0, 1))
}

fn scope_of<'s>(scopes: &'s mut BTreeMap<String, Scope>, schema: &str) -> &'s mut Scope {
    scopes.entry(schema.to_owned()).or_default()
}

/// Field names of a relation, claimed in column order.
fn field_names(relation: &Relation) -> Vec<Ident> {
    let mut scope = Scope::default();
    relation
        .columns
        .iter()
        .map(|c| ident(&scope.claim(&rust_name(&c.name, Case::Snake))))
        .collect()
}
