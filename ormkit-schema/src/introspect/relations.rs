//! The relations (tables, partitioned parents, views, materialized views) of the chosen
//! schemas with their columns, constraints and indexes: one catalog query per aspect.

use super::types::Types;
use super::{query_err, Result};
use crate::ident::QualifiedName;
use crate::model::*;
use sqlx::PgConnection;
use std::collections::HashMap;

/// The relations ormkit reports: tables, partitioned parents, views and materialized views in
/// the chosen schemas, no partitions, nothing owned by an extension.
const RELATIONS_CTE: &str = "WITH rels AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
      AND c.relname <> ALL($2)
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                        AND d.deptype = 'e'))";

pub(super) async fn load_relations(
    conn: &mut PgConnection,
    schemas: &[String],
    excluded: &[String],
    types: &Types,
) -> Result<Vec<Relation>> {
    let sql = format!(
        "{RELATIONS_CTE}
         SELECT r.oid::int8, r.nspname::text, r.relname::text, r.relkind::text,
                pg_catalog.obj_description(r.oid, 'pg_class')
         FROM rels r"
    );
    let rows: Vec<(i64, String, String, String, Option<String>)> = sqlx::query_as(&sql)
        .bind(schemas)
        .bind(excluded)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("relations"))?;
    let mut relations: Vec<(i64, Relation)> = rows
        .into_iter()
        .map(|(oid, schema, name, kind, comment)| {
            let kind = match kind.as_str() {
                "p" => RelationKind::PartitionedTable,
                "v" => RelationKind::View,
                "m" => RelationKind::MaterializedView,
                _ => RelationKind::Table,
            };
            let relation = Relation {
                name: QualifiedName::new(schema, name),
                kind,
                comment,
                columns: Vec::new(),
                primary_key: None,
                unique: Vec::new(),
                foreign_keys: Vec::new(),
                checks: Vec::new(),
                indexes: Vec::new(),
            };
            (oid, relation)
        })
        .collect();
    let index: HashMap<i64, usize> = relations
        .iter()
        .enumerate()
        .map(|(i, (oid, _))| (*oid, i))
        .collect();

    load_columns(conn, schemas, excluded, types, &mut relations, &index).await?;
    load_constraints(conn, schemas, excluded, &mut relations, &index).await?;
    load_indexes(conn, schemas, excluded, &mut relations, &index).await?;
    Ok(relations.into_iter().map(|(_, r)| r).collect())
}

async fn load_columns(
    conn: &mut PgConnection,
    schemas: &[String],
    excluded: &[String],
    types: &Types,
    relations: &mut [(i64, Relation)],
    index: &HashMap<i64, usize>,
) -> Result<()> {
    let sql = format!(
        "{RELATIONS_CTE}
         SELECT a.attrelid::int8, a.attname::text, a.atttypid::int8, a.attnotnull,
                pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity::text,
                a.attgenerated::text, pg_catalog.col_description(a.attrelid, a.attnum)
         FROM rels r
         JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
         LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attrelid, a.attnum"
    );
    type Row = (
        i64,
        String,
        i64,
        bool,
        Option<String>,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(schemas)
        .bind(excluded)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("columns"))?;
    for (rel, name, type_oid, not_null, default, identity, generated, comment) in rows {
        let Some(&i) = index.get(&rel) else { continue };
        let relation = &mut relations[i].1;
        let ty = types.type_ref(type_oid, || format!("column {}.{name}", relation.name))?;
        let (default, generated) = match generated.as_str() {
            "s" => (None, default),
            _ => (default, None),
        };
        relation.columns.push(Column {
            name,
            ty,
            nullable: !not_null,
            default,
            identity: match identity.as_str() {
                "a" => Some(Identity::Always),
                "d" => Some(Identity::ByDefault),
                _ => None,
            },
            generated,
            comment,
        });
    }
    Ok(())
}

async fn load_constraints(
    conn: &mut PgConnection,
    schemas: &[String],
    excluded: &[String],
    relations: &mut [(i64, Relation)],
    index: &HashMap<i64, usize>,
) -> Result<()> {
    let sql = format!(
        "{RELATIONS_CTE}
         SELECT con.conrelid::int8, con.conname::text, con.contype::text,
                ARRAY(SELECT a.attname::text
                      FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                      ORDER BY k.ord),
                fn.nspname::text, fc.relname::text,
                ARRAY(SELECT a.attname::text
                      FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
                      ORDER BY k.ord),
                con.confdeltype::text, con.confupdtype::text,
                pg_catalog.pg_get_constraintdef(con.oid)
         FROM rels r
         JOIN pg_catalog.pg_constraint con ON con.conrelid = r.oid
         LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
         LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
         WHERE con.contype IN ('p', 'u', 'f', 'c') AND con.conparentid = 0"
    );
    type Row = (
        i64,
        String,
        String,
        Vec<String>,
        Option<String>,
        Option<String>,
        Vec<String>,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(schemas)
        .bind(excluded)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("constraints"))?;
    for (rel, name, kind, columns, ref_schema, ref_name, ref_columns, del, upd, def) in rows {
        let Some(&i) = index.get(&rel) else { continue };
        let relation = &mut relations[i].1;
        match kind.as_str() {
            "p" => relation.primary_key = Some(Key { name, columns }),
            "u" => relation.unique.push(Key { name, columns }),
            "f" => relation.foreign_keys.push(ForeignKey {
                name,
                columns,
                references: QualifiedName::new(
                    ref_schema.unwrap_or_default(),
                    ref_name.unwrap_or_default(),
                ),
                referenced_columns: ref_columns,
                on_delete: fk_action(&del).to_owned(),
                on_update: fk_action(&upd).to_owned(),
            }),
            _ => relation.checks.push(Check {
                name,
                definition: def,
            }),
        }
    }
    Ok(())
}

fn fk_action(code: &str) -> &'static str {
    match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "no action",
    }
}

async fn load_indexes(
    conn: &mut PgConnection,
    schemas: &[String],
    excluded: &[String],
    relations: &mut [(i64, Relation)],
    index: &HashMap<i64, usize>,
) -> Result<()> {
    let sql = format!(
        "{RELATIONS_CTE}
         SELECT i.indrelid::int8, ic.relname::text, i.indisunique, i.indisprimary,
                pg_catalog.pg_get_indexdef(i.indexrelid)
         FROM rels r
         JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
         JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
    );
    let rows: Vec<(i64, String, bool, bool, String)> = sqlx::query_as(&sql)
        .bind(schemas)
        .bind(excluded)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("indexes"))?;
    for (rel, name, unique, primary, definition) in rows {
        let Some(&i) = index.get(&rel) else { continue };
        relations[i].1.indexes.push(Index {
            name,
            unique,
            primary,
            definition,
        });
    }
    Ok(())
}
