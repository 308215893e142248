//! What PostgreSQL says about one statement, prepared but never run: its parameters' types,
//! and its result columns' names, types and origins. The code generator builds checked
//! queries from it; schema validation compares a live database with what was generated.

use crate::ident::QualifiedName;
use crate::introspect::IntrospectError;
use crate::model::TypeRef;
use sqlx::postgres::{PgConnection, PgTypeInfo};
use sqlx::{Column as _, Executor as _, Statement as _};
use std::collections::HashMap;

/// A prepared statement's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementShape {
    /// The parameters' types, in `$n` order.
    pub params: Vec<TypeRef>,
    /// The result columns, in order.
    pub columns: Vec<ShapeColumn>,
}

/// One result column of a prepared statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeColumn {
    /// Its name, as PostgreSQL reports it (an alias's `!`/`?` suffix included).
    pub name: String,
    /// Its type.
    pub ty: TypeRef,
    /// The table column it reads unchanged, when PostgreSQL knows one.
    pub origin: Option<ColumnOrigin>,
}

/// The table column a result column comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnOrigin {
    /// The relation.
    pub relation: QualifiedName,
    /// The column.
    pub column: String,
    /// Whether the column, or its domain, is NOT NULL.
    pub not_null: bool,
}

/// Describing a statement failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DescribeError {
    /// PostgreSQL refused to prepare it (the error carries SQLSTATE and position).
    #[error("{0}")]
    Prepare(sqlx::Error),
    /// A parameter or column has a type that `pg_type` does not list.
    #[error("PostgreSQL described a type (oid {oid}) for {user} that pg_type does not list")]
    UnknownType {
        /// The type's oid.
        oid: u32,
        /// `parameter $n` or `column "name"`.
        user: String,
    },
    /// Reading the catalog failed.
    #[error(transparent)]
    Catalog(IntrospectError),
}

/// Prepares `sql` on `conn` (Parse and Describe: nothing runs) and names its types as the
/// lock writes them.
///
/// # Errors
///
/// [`DescribeError::Prepare`] when PostgreSQL refuses the statement;
/// [`DescribeError::UnknownType`] and [`DescribeError::Catalog`] when the catalog cannot
/// name what it described.
pub async fn describe_statement(
    conn: &mut PgConnection,
    sql: &str,
) -> Result<StatementShape, DescribeError> {
    let statement = conn.prepare(sql).await.map_err(DescribeError::Prepare)?;
    let params: Vec<u32> = match statement.parameters() {
        Some(sqlx::Either::Left(types)) => types.iter().map(oid_of).collect(),
        _ => Vec::new(),
    };
    /// A column as described: name, type oid, and relation oid and attribute number.
    type Described = (String, u32, Option<(u32, i16)>);
    let columns: Vec<Described> = statement
        .columns()
        .iter()
        .map(|c| {
            let origin = c
                .relation_id()
                .zip(c.relation_attribute_no())
                .map(|(relation, attno)| (relation.0, attno));
            (c.name().to_owned(), oid_of(c.type_info()), origin)
        })
        .collect();
    drop(statement);
    let oids: Vec<u32> = params
        .iter()
        .copied()
        .chain(columns.iter().map(|c| c.1))
        .collect();
    let types = type_names(conn, &oids).await?;
    let type_of = |oid: u32, user: String| {
        types
            .get(&oid)
            .cloned()
            .ok_or(DescribeError::UnknownType { oid, user })
    };
    let params = params
        .iter()
        .enumerate()
        .map(|(i, &oid)| type_of(oid, format!("parameter ${}", i + 1)))
        .collect::<Result<_, _>>()?;
    let mut shaped = Vec::with_capacity(columns.len());
    for (name, oid, origin) in columns {
        let ty = type_of(oid, format!("column {name:?}"))?;
        let origin = match origin {
            Some((relation, attno)) if relation != 0 && attno > 0 => {
                column_origin(conn, relation, attno).await?
            }
            _ => None,
        };
        shaped.push(ShapeColumn { name, ty, origin });
    }
    Ok(StatementShape {
        params,
        columns: shaped,
    })
}

/// A result column's name without its nullability override, and the override: `name!` is
/// NOT NULL (`Some(false)`), `name?` nullable (`Some(true)`).
pub fn split_override(name: &str) -> (&str, Option<bool>) {
    match (name.strip_suffix('!'), name.strip_suffix('?')) {
        (Some(base), _) => (base, Some(false)),
        (_, Some(base)) => (base, Some(true)),
        _ => (name, None),
    }
}

fn oid_of(ty: &PgTypeInfo) -> u32 {
    ty.oid().map_or(0, |o| o.0)
}

fn catalog_error(error: sqlx::Error) -> DescribeError {
    DescribeError::Catalog(IntrospectError::Query {
        what: "a statement's types",
        error,
    })
}

/// The lock's name of each type oid (`int4`, `text[]`, `public.mood`).
async fn type_names(
    conn: &mut PgConnection,
    oids: &[u32],
) -> Result<HashMap<u32, TypeRef>, DescribeError> {
    let wanted: Vec<i64> = oids.iter().map(|&o| i64::from(o)).collect();
    /// oid, schema, name, and an array's element schema and name.
    type TypeRow = (i64, String, String, Option<String>, Option<String>);
    let rows: Vec<TypeRow> = sqlx::query_as(
        "SELECT t.oid::int8, n.nspname::text, t.typname::text, en.nspname::text, e.typname::text
         FROM pg_catalog.pg_type t
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         LEFT JOIN pg_catalog.pg_type e ON t.typcategory = 'A' AND e.oid = t.typelem
         LEFT JOIN pg_catalog.pg_namespace en ON en.oid = e.typnamespace
         WHERE t.oid = ANY($1)",
    )
    .bind(&wanted)
    .fetch_all(&mut *conn)
    .await
    .map_err(catalog_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|(oid, schema, name, elem_schema, elem_name)| {
            let ty = match (elem_schema, elem_name) {
                (Some(s), Some(n)) => TypeRef {
                    name: QualifiedName::new(s, n),
                    array: true,
                },
                _ => TypeRef {
                    name: QualifiedName::new(schema, name),
                    array: false,
                },
            };
            Some((u32::try_from(oid).ok()?, ty))
        })
        .collect())
}

/// The table column `attno` of relation `relation`, and whether it or its domain is NOT NULL.
async fn column_origin(
    conn: &mut PgConnection,
    relation: u32,
    attno: i16,
) -> Result<Option<ColumnOrigin>, DescribeError> {
    let row: Option<(String, String, String, bool)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, a.attname::text,
                a.attnotnull OR coalesce(t.typnotnull, false)
         FROM pg_catalog.pg_attribute a
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND t.typtype = 'd'
         WHERE a.attrelid = $1::int8::oid AND a.attnum = $2",
    )
    .bind(i64::from(relation))
    .bind(attno)
    .fetch_optional(&mut *conn)
    .await
    .map_err(catalog_error)?;
    Ok(row.map(|(schema, table, column, not_null)| ColumnOrigin {
        relation: QualifiedName::new(schema, table),
        column,
        not_null,
    }))
}
