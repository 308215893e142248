//! Reads a [`SchemaModel`] from a live database's `pg_catalog`.
//!
//! `information_schema` alone misses identity kinds, domains' NOT NULL, enum order, composite
//! types and comments, so everything here comes from the catalog itself. One implementation
//! serves the code generator (at build time) and schema validation (at run time).

mod relations;
mod types;

use crate::model::*;
use relations::load_relations;
use sqlx::PgConnection;
use types::{load_composites, load_domains, load_enums, load_ranges, load_types};

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
