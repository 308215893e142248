//! The `ormkit::entity!` invocation that describes a table's SQL side: its columns in table
//! order, key, foreign keys, enums, and which field of each model writes which column.

use super::super::plan::Here;
use super::super::text::{lit, room, ty, Lines};
use super::super::Ctx;
use super::plan::{InsertField, TablePlan};
use ormkit_schema::{EnumType, Relation, RelationKind, SchemaModel};
use proc_macro2::TokenStream;

pub(super) fn render(ctx: &Ctx<'_>, plan: &TablePlan<'_>) -> TokenStream {
    let relation = plan.relation;
    let (schema, name) = (&relation.name.schema, &relation.name.name);
    let room = room(ctx.plan.depth(schema));
    let kind = match relation.kind {
        RelationKind::Table => "Table",
        RelationKind::PartitionedTable => "PartitionedTable",
        RelationKind::View => "View",
        RelationKind::MaterializedView => "MaterializedView",
    };
    let mut out = Lines::default();
    out.line("::ormkit::entity! {");
    out.nested(|o| {
        o.line(format!(
            "{} = {}.{} ({kind}) {{",
            plan.names.row,
            lit(schema),
            lit(name)
        ));
        let key: Vec<&str> = relation
            .primary_key
            .iter()
            .flat_map(|k| k.columns.iter().map(String::as_str))
            .collect();
        o.nested(|o| {
            for c in &plan.columns {
                let col = c.column;
                let mut flags = String::new();
                if col.nullable {
                    flags.push_str(".nullable()");
                }
                if col.has_default() {
                    flags.push_str(".has_default()");
                }
                if col.is_read_only() {
                    flags.push_str(".read_only()");
                }
                if key.contains(&col.name.as_str()) {
                    flags.push_str(".key()");
                }
                if let Some(cast) = &c.binding.cast {
                    flags.push_str(&format!(".cast({})", lit(cast)));
                }
                if c.binding.text_form {
                    flags.push_str(".text_form()");
                }
                o.line(format!(
                    "{}: {} {}{flags},",
                    c.field,
                    lit(&col.name),
                    lit(&col.ty.to_string())
                ));
            }
        });
        o.line("}");
        let key: Vec<String> = key.iter().map(|k| lit(k)).collect();
        if !key.is_empty() {
            o.list("key: ", &key, ",", room);
        }
        let fks: Vec<String> = relation
            .foreign_keys
            .iter()
            .map(|fk| {
                let cols: Vec<String> = fk.columns.iter().map(|c| lit(c)).collect();
                let refs: Vec<String> = fk.referenced_columns.iter().map(|c| lit(c)).collect();
                format!(
                    "{}: [{}] => {}.{} [{}]",
                    lit(&fk.name),
                    cols.join(", "),
                    lit(&fk.references.schema),
                    lit(&fk.references.name),
                    refs.join(", ")
                )
            })
            .collect();
        if !fks.is_empty() {
            o.rows("foreign_keys: ", &fks, ",", room);
        }
        if let Some(c) = &relation.comment {
            o.line(format!("comment: {},", lit(c)));
        }
        let here = Here::schema(schema);
        let enums: Vec<String> = column_enums(ctx.model, relation)
            .into_iter()
            .map(|e| ty(&ctx.plan.type_path(&e.name, here)))
            .collect();
        if !enums.is_empty() {
            o.list("enums: ", &enums, ",", room);
        }
        insert_section(o, plan, room);
        patch_section(o, plan, room);
    });
    out.line("}");
    ctx.splices.item(out.lines)
}

fn insert_section(o: &mut Lines, plan: &TablePlan<'_>, room: usize) {
    let Some(new) = &plan.names.new else {
        return;
    };
    let (mut required, mut nullable, mut defaulted) = (Vec::new(), Vec::new(), Vec::new());
    for (i, c) in plan.columns.iter().enumerate() {
        match c.insert {
            Some(InsertField::Required) => {
                required.push(format!("{}: {} = {i}", c.field, ty(&c.field_type())));
            }
            Some(InsertField::Nullable) => nullable.push(format!("{} = {i}", c.field)),
            Some(InsertField::Defaulted | InsertField::DefaultedNullable) => {
                defaulted.push(format!("{} = {i}", c.field));
            }
            None => {}
        }
    }
    let sections: Vec<(&str, Vec<String>)> = [
        ("required: ", required),
        ("nullable: ", nullable),
        ("defaulted: ", defaulted),
    ]
    .into_iter()
    .filter(|(_, items)| !items.is_empty())
    .collect();
    let one_line: Vec<String> = sections
        .iter()
        .map(|(head, items)| format!("{head}[{}]", items.join(", ")))
        .collect();
    let one_line = format!("insert {new} {{ {} }}", one_line.join(", "));
    if one_line.len() + 8 <= room {
        o.line(one_line);
        return;
    }
    o.line(format!("insert {new} {{"));
    o.nested(|o| {
        for (head, items) in &sections {
            o.list(head, items, ",", room);
        }
    });
    o.line("}");
}

fn patch_section(o: &mut Lines, plan: &TablePlan<'_>, room: usize) {
    let (Some(patch), Some(key)) = (&plan.names.patch, &plan.key) else {
        return;
    };
    let keys: Vec<String> = key
        .columns
        .iter()
        .map(|&i| {
            let c = &plan.columns[i];
            format!("{}: {}", c.field, ty(&c.field_type()))
        })
        .collect();
    let sets: Vec<String> = plan
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.patchable)
        .map(|(i, c)| {
            // `new` is the patch's constructor: that column's setter is `set_new`.
            let setter = if c.field == "new" { " as set_new" } else { "" };
            format!("{}{setter}: {} = {i}", c.field, ty(&c.field_type()))
        })
        .collect();
    let head = format!("patch {patch} ({}) -> {} ", keys.join(", "), ty(&key.ty));
    o.fill(&head, "{ ", &sets, " }", "", room);
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
