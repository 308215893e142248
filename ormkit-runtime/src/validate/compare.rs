//! Comparing what the code expects with the introspected live schema.

use ormkit_schema::{Column, QualifiedName, Relation, SchemaModel, TypeDef, TypeRef};

use super::expected::ExpectedRelation;
use super::finding::Finding;
#[cfg(feature = "orm")]
use crate::checked::CheckedQuery;
use crate::meta::EnumMeta;
#[cfg(feature = "orm")]
use ormkit_schema::describe::{split_override, StatementShape};

/// The differences of one relation, appended to `out`.
pub(crate) fn compare_relation(
    expected: &ExpectedRelation,
    live: &SchemaModel,
    out: &mut Vec<Finding>,
) {
    let table = &expected.name;
    let Some(actual) = live.relation(table) else {
        out.push(Finding::TableNotFound {
            table: table.clone(),
        });
        return;
    };
    for column in &expected.columns {
        let Some(live_column) = actual.column(&column.name) else {
            out.push(Finding::ColumnNotFound {
                table: table.clone(),
                column: column.name.clone(),
            });
            continue;
        };
        let live_type = live_column.ty.to_string();
        if live_type != column.ty {
            out.push(Finding::TypeMismatch {
                table: table.clone(),
                column: column.name.clone(),
                expected: column.ty.clone(),
                actual: live_type,
            });
        }
        if live_column.nullable != column.nullable {
            out.push(Finding::NullabilityMismatch {
                table: table.clone(),
                column: column.name.clone(),
                expected_nullable: column.nullable,
                actual_nullable: live_column.nullable,
            });
        }
    }
    let live_key = actual
        .primary_key
        .as_ref()
        .map(|key| key.columns.clone())
        .unwrap_or_default();
    if live_key != expected.primary_key {
        out.push(Finding::PrimaryKeyMismatch {
            table: table.clone(),
            expected: expected.primary_key.clone(),
            actual: live_key,
        });
    }
    for live_column in &actual.columns {
        if !expected.columns.iter().any(|c| c.name == live_column.name) {
            out.push(Finding::MissingColumnInEntity {
                table: table.clone(),
                column: live_column.name.clone(),
                actual: live_column.ty.to_string(),
                breaks_inserts: breaks_inserts(live, actual, live_column),
            });
        }
    }
}

/// Whether an insert that leaves `column` out fails: a NOT NULL column of a table with no
/// default of its own or from its domain, not identity, not generated.
fn breaks_inserts(live: &SchemaModel, relation: &Relation, column: &Column) -> bool {
    relation.kind.is_writable()
        && !column.nullable
        && !column.has_default()
        && !column.is_read_only()
        && !domain_has_default(live, &column.ty)
}

fn domain_has_default(live: &SchemaModel, ty: &TypeRef) -> bool {
    if ty.array {
        return false;
    }
    let mut current = ty.name.clone();
    // Domain chains are finite; the bound guards against a cycle in a corrupt model.
    for _ in 0..64 {
        match live.type_def(&current) {
            TypeDef::Domain(domain) if domain.default.is_some() => return true,
            TypeDef::Domain(domain) if !domain.base.array => current = domain.base.name.clone(),
            _ => return false,
        }
    }
    false
}

/// The differences of the enums, domains and composite types of `expected`.
/// An entity's enum type against the live one: missing, or with other labels.
pub(crate) fn compare_enum(expected: &EnumMeta, live: &SchemaModel, out: &mut Vec<Finding>) {
    let name = QualifiedName::new(expected.schema, expected.name);
    let labels: Vec<String> = expected.labels.iter().map(|l| l.to_string()).collect();
    match live.enums.iter().find(|l| l.name == name) {
        None => out.push(Finding::TypeNotFound { name, kind: "enum" }),
        Some(l) if l.labels != labels => out.push(Finding::EnumLabelsMismatch {
            name,
            expected: labels,
            actual: l.labels.clone(),
        }),
        Some(_) => {}
    }
}

pub(crate) fn compare_types(expected: &SchemaModel, live: &SchemaModel, out: &mut Vec<Finding>) {
    for e in &expected.enums {
        match live.enums.iter().find(|l| l.name == e.name) {
            None => out.push(Finding::TypeNotFound {
                name: e.name.clone(),
                kind: "enum",
            }),
            Some(l) if l.labels != e.labels => out.push(Finding::EnumLabelsMismatch {
                name: e.name.clone(),
                expected: e.labels.clone(),
                actual: l.labels.clone(),
            }),
            Some(_) => {}
        }
    }
    for d in &expected.domains {
        let describe = |d: &ormkit_schema::Domain| match d.not_null {
            true => format!("{} NOT NULL", d.base),
            false => d.base.to_string(),
        };
        match live.domains.iter().find(|l| l.name == d.name) {
            None => out.push(Finding::TypeNotFound {
                name: d.name.clone(),
                kind: "domain",
            }),
            Some(l) if describe(l) != describe(d) => out.push(Finding::TypeDefinitionMismatch {
                name: d.name.clone(),
                expected: describe(d),
                actual: describe(l),
            }),
            Some(_) => {}
        }
    }
    for c in &expected.composites {
        let describe = |c: &ormkit_schema::CompositeType| {
            let fields: Vec<String> = c
                .fields
                .iter()
                .map(|f| format!("{} {}", f.name, f.ty))
                .collect();
            format!("({})", fields.join(", "))
        };
        match live.composites.iter().find(|l| l.name == c.name) {
            None => out.push(Finding::TypeNotFound {
                name: c.name.clone(),
                kind: "composite type",
            }),
            Some(l) if describe(l) != describe(c) => out.push(Finding::TypeDefinitionMismatch {
                name: c.name.clone(),
                expected: describe(c),
                actual: describe(l),
            }),
            Some(_) => {}
        }
    }
}

/// The differences between a checked query as generated and as `live` describes it now,
/// appended to `out`.
#[cfg(feature = "orm")]
pub(crate) fn compare_query(
    query: &CheckedQuery,
    label: &str,
    live: &StatementShape,
    out: &mut Vec<Finding>,
) {
    let absent = || "absent".to_owned();
    for param in 0..query.params.len().max(live.params.len()) {
        let expected = query.params.get(param).map(|t| (*t).to_owned());
        let actual = live.params.get(param).map(ToString::to_string);
        if expected != actual {
            out.push(Finding::QueryParamMismatch {
                query: label.to_owned(),
                param: param + 1,
                expected: expected.unwrap_or_else(absent),
                actual: actual.unwrap_or_else(absent),
            });
        }
    }
    for position in 0..query.columns.len().max(live.columns.len()) {
        let expected = query.columns.get(position);
        let actual = live.columns.get(position);
        let (name, forced) = actual.map_or(("", None), |c| split_override(&c.name));
        let same = match (expected, actual) {
            (Some(e), Some(a)) => e.name == name && e.sql_type == a.ty.to_string(),
            _ => false,
        };
        if !same {
            out.push(Finding::QueryColumnMismatch {
                query: label.to_owned(),
                position: position + 1,
                expected: expected.map_or_else(absent, |e| format!("{} {}", e.name, e.sql_type)),
                actual: actual.map_or_else(absent, |a| format!("{name} {}", a.ty)),
            });
            continue;
        }
        let (Some(expected), Some(origin)) = (expected, actual.and_then(|a| a.origin.as_ref()))
        else {
            continue;
        };
        // A `name!` override promises NOT NULL whatever the table says.
        if !expected.nullable && forced.is_none() && !origin.not_null {
            out.push(Finding::QueryColumnNullable {
                query: label.to_owned(),
                column: expected.name.to_owned(),
                origin: format!(
                    "{}.{}",
                    origin.relation,
                    ormkit_schema::quote_ident_if_needed(&origin.column)
                ),
            });
        }
    }
}
