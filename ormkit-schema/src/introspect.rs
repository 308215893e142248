//! Reads a [`SchemaModel`] from a live database's `pg_catalog`.
//!
//! `information_schema` alone misses identity kinds, domains' NOT NULL, enum order, composite
//! types and comments, so everything here comes from the catalog itself. One implementation
//! serves the code generator (at build time) and schema validation (at run time).

use crate::ident::QualifiedName;
use crate::model::*;
use sqlx::PgConnection;
use std::collections::HashMap;

/// What to introspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectOptions {
    /// Schemas to read; `None` reads every schema but PostgreSQL's own.
    pub schemas: Option<Vec<String>>,
    /// Tables never reported (migration bookkeeping), by bare name in any schema.
    pub exclude_tables: Vec<String>,
}

impl Default for IntrospectOptions {
    fn default() -> Self {
        IntrospectOptions {
            schemas: None,
            exclude_tables: DEFAULT_EXCLUDED_TABLES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// Bookkeeping tables of ormkit, sqlx and Diesel, left out of the model by default.
pub const DEFAULT_EXCLUDED_TABLES: &[&str] = &[
    "_ormkit_migrations",
    "_sqlx_migrations",
    "__diesel_schema_migrations",
];

/// Introspection failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectError {
    /// A catalog query failed.
    #[error("catalog query for {what} failed: {error}")]
    Query {
        /// What was being read (`tables`, `columns`, …).
        what: &'static str,
        /// The database error (in the message, not `source()`).
        error: sqlx::Error,
    },
    /// A type referenced by a column is missing from `pg_type` (a concurrent DROP).
    #[error("type oid {oid} used by {user} was not found in pg_type")]
    UnknownType {
        /// The type's oid.
        oid: i64,
        /// The column or type using it.
        user: String,
    },
    /// The server is older than the oldest supported PostgreSQL ([`MIN_SERVER_VERSION_NUM`]).
    #[error(
        "reading the schema needs PostgreSQL 12 or newer (the catalog's generated columns, \
         pg_attribute.attgenerated, are from 12); this server is PostgreSQL {version}"
    )]
    ServerTooOld {
        /// The server's `server_version`, e.g. `11.22`.
        version: String,
    },
}

/// The oldest PostgreSQL whose catalog [`introspect`] reads, as `server_version_num`: 12.
pub const MIN_SERVER_VERSION_NUM: i32 = 120_000;

/// `Ok` for a server at least [`MIN_SERVER_VERSION_NUM`], else an error naming its version.
fn check_server_version(version_num: i32, version: &str) -> Result<()> {
    if version_num >= MIN_SERVER_VERSION_NUM {
        return Ok(());
    }
    Err(IntrospectError::ServerTooOld {
        version: version.to_owned(),
    })
}

type Result<T, E = IntrospectError> = std::result::Result<T, E>;

/// One row of `pg_type`, enough to build a [`TypeRef`].
struct TypeRow {
    name: QualifiedName,
    array_of: Option<i64>,
}

struct Types(HashMap<i64, TypeRow>);

impl Types {
    fn type_ref(&self, oid: i64, user: impl FnOnce() -> String) -> Result<TypeRef> {
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

fn query_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> IntrospectError {
    move |error| IntrospectError::Query { what, error }
}

/// Reads the schema model of the database `conn` is connected to.
pub async fn introspect(
    conn: &mut PgConnection,
    options: &IntrospectOptions,
) -> Result<SchemaModel> {
    let (version_num, version): (i32, String) = sqlx::query_as(
        "SELECT current_setting('server_version_num')::int4, current_setting('server_version')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(query_err("the server version"))?;
    check_server_version(version_num, &version)?;
    let schemas = match &options.schemas {
        Some(list) => list.clone(),
        None => sqlx::query_scalar::<_, String>(SCHEMAS_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err("schemas"))?,
    };
    let types = load_types(conn).await?;
    let mut model = SchemaModel {
        schemas: schemas.clone(),
        enums: load_enums(conn, &schemas).await?,
        domains: load_domains(conn, &schemas, &types).await?,
        composites: load_composites(conn, &schemas, &types).await?,
        ranges: load_ranges(conn, &schemas, &types).await?,
        relations: Vec::new(),
    };
    model.relations = load_relations(conn, &schemas, &options.exclude_tables, &types).await?;
    apply_domain_nullability(&mut model);
    model.canonicalize();
    Ok(model)
}

/// A column whose domain is `NOT NULL` cannot hold NULL even without its own constraint.
fn apply_domain_nullability(model: &mut SchemaModel) {
    let mut relations = std::mem::take(&mut model.relations);
    for relation in &mut relations {
        if !relation.kind.is_writable() {
            continue;
        }
        for column in &mut relation.columns {
            let (_, domain_not_null) = model.resolve(&column.ty);
            if domain_not_null {
                column.nullable = false;
            }
        }
    }
    model.relations = relations;
}

const SCHEMAS_SQL: &str = "\
SELECT n.nspname::text FROM pg_catalog.pg_namespace n
WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid
                    AND d.deptype = 'e')
ORDER BY 1";

async fn load_types(conn: &mut PgConnection) -> Result<Types> {
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

async fn load_enums(conn: &mut PgConnection, schemas: &[String]) -> Result<Vec<EnumType>> {
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

async fn load_domains(
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

async fn load_composites(
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

async fn load_ranges(
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

async fn load_relations(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_older_than_12_are_refused_naming_their_version() {
        assert!(check_server_version(120_022, "12.22").is_ok());
        assert!(check_server_version(180_004, "18.4").is_ok());
        let message = check_server_version(110_022, "11.22")
            .unwrap_err()
            .to_string();
        for needed in ["PostgreSQL 12 or newer", "PostgreSQL 11.22"] {
            assert!(message.contains(needed), "{needed} missing from: {message}");
        }
    }
}
