//! Each entity's fixed SQL (table, select list, statements by key), built once and kept.

use super::text::key_filter;
use super::Op;
use crate::ident::quote_ident;
use crate::meta::{ColumnMeta, EntityMeta};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

/// The SQL of one entity that never changes, built on first use.
#[derive(Debug)]
pub(crate) struct EntitySql {
    /// `"schema"."name"`.
    pub(crate) table: String,
    /// Each column, quoted, in column order.
    pub(crate) columns: Vec<String>,
    /// Every column as selected, comma-separated.
    pub(crate) select_list: String,
    /// `SELECT <all> FROM <table>`.
    pub(crate) select_all: String,
    /// `SELECT count(*) FROM <table>`.
    pub(crate) count: String,
    /// `SELECT <all> FROM <table> WHERE <key> = $1 …` (empty without a key).
    pub(crate) select_by_key: String,
    /// `SELECT EXISTS (SELECT FROM <table> WHERE <key> = $1 …)`.
    pub(crate) exists_by_key: String,
    /// `DELETE FROM <table> WHERE <key> = $1 …`.
    pub(crate) delete_by_key: String,
    /// `schema.name`, unquoted: OpenTelemetry's `db.collection.name`.
    pub(crate) collection: String,
    /// `db.query.summary` per SQL command: `SELECT schema.name`, `INSERT …`, `UPDATE …`,
    /// `DELETE …`, `COPY …`.
    summaries: [String; 5],
}

/// The entity's fixed SQL.
pub(crate) fn sql(meta: &'static EntityMeta) -> &'static EntitySql {
    static BUILT: OnceLock<RwLock<HashMap<usize, &'static EntitySql>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // Keyed by address: one promoted constant per entity (a duplicate address, which a
    // constant used from several crates may have, only builds the same text twice).
    let key = std::ptr::from_ref(meta) as usize;
    if let Some(sql) = built.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return sql;
    }
    let mut built = built.write().unwrap_or_else(|e| e.into_inner());
    built
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(EntitySql::build(meta))))
}

impl EntitySql {
    fn build(meta: &EntityMeta) -> Self {
        let table = format!("{}.{}", quote_ident(meta.schema), quote_ident(meta.name));
        let columns: Vec<String> = meta.columns.iter().map(|c| quote_ident(c.name)).collect();
        let select_list = meta
            .columns
            .iter()
            .map(select_expr)
            .collect::<Vec<_>>()
            .join(", ");
        let select_all = format!("SELECT {select_list} FROM {table}");
        let key = key_filter(meta, 1);
        let (select_by_key, exists_by_key, delete_by_key) = if meta.primary_key.is_empty() {
            Default::default()
        } else {
            (
                format!("{select_all} WHERE {key}"),
                format!("SELECT EXISTS (SELECT FROM {table} WHERE {key})"),
                format!("DELETE FROM {table} WHERE {key}"),
            )
        };
        let collection = format!("{}.{}", meta.schema, meta.name);
        let summaries = ["SELECT", "INSERT", "UPDATE", "DELETE", "COPY"]
            .map(|command| format!("{command} {collection}"));
        EntitySql {
            collection,
            summaries,
            count: format!("SELECT count(*) FROM {table}"),
            table,
            columns,
            select_list,
            select_all,
            select_by_key,
            exists_by_key,
            delete_by_key,
        }
    }

    /// The quoted name of column `index`.
    pub(crate) fn column(&self, index: u16) -> &str {
        &self.columns[usize::from(index)]
    }

    /// `db.query.summary` of a statement doing `op` on the entity's table.
    pub(crate) fn summary(&self, op: Op) -> &str {
        let command = match op {
            Op::Insert => 1,
            Op::Update => 2,
            Op::Delete => 3,
            #[cfg(feature = "parallel")]
            Op::Copy => 4,
            _ => 0,
        };
        &self.summaries[command]
    }
}

/// How a column is selected: its quoted name, read as text when it is text-form.
pub(crate) fn select_expr(column: &ColumnMeta) -> String {
    let name = quote_ident(column.name);
    if !column.text_form {
        return name;
    }
    let array = if column.sql_type.ends_with("[]") {
        "[]"
    } else {
        ""
    };
    format!("{name}::text{array}")
}
