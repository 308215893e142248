//! The types in `pg_type`: the oid table every column's type is resolved through, and the
//! user-defined enums, domains, composites and ranges of the chosen schemas.

use super::{query_err, IntrospectError, Result};
use crate::ident::QualifiedName;
use crate::model::*;
use sqlx::PgConnection;
use std::collections::HashMap;

/// One row of `pg_type`, enough to build a [`TypeRef`].
struct TypeRow {
    name: QualifiedName,
    array_of: Option<i64>,
}

pub(super) struct Types(HashMap<i64, TypeRow>);

impl Types {
    pub(super) fn type_ref(&self, oid: i64, user: impl FnOnce() -> String) -> Result<TypeRef> {
        let unknown = |user: String| IntrospectError::UnknownType { oid, user };
        let row = self.0.get(&oid).ok_or_else(|| unknown(user()))?;
        match row.array_of {
            Some(elem) => {
                let elem_row = self
                    .0
                    .get(&elem)
                    .ok_or_else(|| unknown(row.name.to_string()))?;
                Ok(TypeRef {
                    name: elem_row.name.clone(),
                    array: true,
                })
            }
            None => Ok(TypeRef {
                name: row.name.clone(),
                array: false,
            }),
        }
    }
}

pub(super) async fn load_types(conn: &mut PgConnection) -> Result<Types> {
    let rows: Vec<(i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT t.oid::int8, n.nspname::text, t.typname::text,
                CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem::int8 END
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(query_err("types"))?;
    Ok(Types(
        rows.into_iter()
            .map(|(oid, schema, name, array_of)| {
                let name = QualifiedName::new(schema, name);
                (oid, TypeRow { name, array_of })
            })
            .collect(),
    ))
}

/// Types owned by an extension (citext, hstore, …) are the extension's, not the schema's.
const NOT_FROM_EXTENSION: &str = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')";

pub(super) async fn load_enums(
    conn: &mut PgConnection,
    schemas: &[String],
) -> Result<Vec<EnumType>> {
    let sql = format!(
        "SELECT n.nspname::text, t.typname::text,
                ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
                      WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
                pg_catalog.obj_description(t.oid, 'pg_type')
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         WHERE t.typtype = 'e' AND n.nspname = ANY($1) AND {NOT_FROM_EXTENSION}"
    );
    let rows: Vec<(String, String, Vec<String>, Option<String>)> = sqlx::query_as(&sql)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("enums"))?;
    Ok(rows
        .into_iter()
        .map(|(schema, name, labels, comment)| EnumType {
            name: QualifiedName::new(schema, name),
            labels,
            comment,
        })
        .collect())
}

pub(super) async fn load_domains(
    conn: &mut PgConnection,
    schemas: &[String],
    types: &Types,
) -> Result<Vec<Domain>> {
    let sql = format!(
        "SELECT n.nspname::text, t.typname::text, t.typbasetype::int8, t.typnotnull, t.typdefault,
                ARRAY(SELECT c.conname::text FROM pg_catalog.pg_constraint c
                      WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname),
                ARRAY(SELECT pg_catalog.pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint c
                      WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname),
                pg_catalog.obj_description(t.oid, 'pg_type')
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         WHERE t.typtype = 'd' AND n.nspname = ANY($1) AND {NOT_FROM_EXTENSION}"
    );
    type Row = (
        String,
        String,
        i64,
        bool,
        Option<String>,
        Vec<String>,
        Vec<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("domains"))?;
    rows.into_iter()
        .map(
            |(schema, name, base, not_null, default, names, defs, comment)| {
                let name = QualifiedName::new(schema, name);
                Ok(Domain {
                    base: types.type_ref(base, || format!("domain {name}"))?,
                    name,
                    not_null,
                    default,
                    checks: names
                        .into_iter()
                        .zip(defs)
                        .map(|(name, definition)| Check { name, definition })
                        .collect(),
                    comment,
                })
            },
        )
        .collect()
}

pub(super) async fn load_composites(
    conn: &mut PgConnection,
    schemas: &[String],
    types: &Types,
) -> Result<Vec<CompositeType>> {
    let sql = format!(
        "SELECT n.nspname::text, t.typname::text, a.attname::text, a.atttypid::int8,
                pg_catalog.col_description(a.attrelid, a.attnum),
                pg_catalog.obj_description(t.oid, 'pg_type')
         FROM pg_catalog.pg_type t
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         JOIN pg_catalog.pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE t.typtype = 'c' AND n.nspname = ANY($1) AND {NOT_FROM_EXTENSION}
         ORDER BY 1, 2, a.attnum"
    );
    type Row = (String, String, String, i64, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("composite types"))?;
    let mut out: Vec<CompositeType> = Vec::new();
    for (schema, name, field, type_oid, field_comment, comment) in rows {
        let name = QualifiedName::new(schema, name);
        let ty = types.type_ref(type_oid, || format!("field {field} of type {name}"))?;
        let field = Field {
            name: field,
            ty,
            comment: field_comment,
        };
        match out.last_mut() {
            Some(last) if last.name == name => last.fields.push(field),
            _ => out.push(CompositeType {
                name,
                fields: vec![field],
                comment,
            }),
        }
    }
    Ok(out)
}

pub(super) async fn load_ranges(
    conn: &mut PgConnection,
    schemas: &[String],
    types: &Types,
) -> Result<Vec<RangeType>> {
    let sql = format!(
        "SELECT n.nspname::text, t.typname::text, r.rngsubtype::int8,
                pg_catalog.obj_description(t.oid, 'pg_type')
         FROM pg_catalog.pg_range r
         JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = ANY($1) AND {NOT_FROM_EXTENSION}"
    );
    let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(&sql)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_err("range types"))?;
    rows.into_iter()
        .map(|(schema, name, subtype, comment)| {
            let name = QualifiedName::new(schema, name);
            Ok(RangeType {
                subtype: types.type_ref(subtype, || format!("range type {name}"))?,
                name,
                comment,
            })
        })
        .collect()
}
