//! Describing queries on the scratch database: each is prepared (Parse/Describe, never
//! executed) for its parameter and result types, and explained (a generic plan, never run) for
//! which tables outer joins can null-extend and whether it only reads.

use super::parse::QueryDef;
use crate::error::{CodegenError, Result};
use ormkit_schema::{LockedQuery, QualifiedName, QueryColumn, QueryParam, TypeRef};
use serde_json::Value;
use sqlx::postgres::PgConnection;
use sqlx::{Column as _, Executor as _, Statement as _};
use std::collections::{HashMap, HashSet};

/// What a prepared query's plan says.
#[derive(Debug, Default)]
struct PlanFacts {
    /// Whether the plan could be read at all.
    known: bool,
    /// Relations an outer join can null-extend (`schema.name`).
    nullable: HashSet<String>,
    /// The top node's output expressions, one per result column.
    outputs: Vec<String>,
    /// A `ModifyTable` or `LockRows` node.
    writes: bool,
}

/// Describes `query` on `conn` (a database with the migrations applied).
pub(crate) async fn describe(
    conn: &mut PgConnection,
    query: &QueryDef,
    path: &std::path::Path,
    file_text: &str,
) -> Result<LockedQuery> {
    let statement = match conn.prepare(&query.sql).await {
        Ok(statement) => statement,
        Err(err) => return Err(prepare_error(err, query, path, file_text)),
    };
    let param_oids: Vec<u32> = match statement.parameters() {
        Some(sqlx::Either::Left(types)) => types.iter().map(oid_of).collect(),
        _ => Vec::new(),
    };
    let columns: Vec<(String, u32, Option<u32>, Option<i16>)> = statement
        .columns()
        .iter()
        .map(|c| {
            (
                c.name().to_owned(),
                oid_of(c.type_info()),
                c.relation_id().map(|o| o.0),
                c.relation_attribute_no(),
            )
        })
        .collect();
    drop(statement);
    let mut oids: Vec<u32> = param_oids.iter().copied().collect();
    oids.extend(columns.iter().map(|c| c.1));
    let types = type_names(conn, &oids).await?;
    let origins = origins(conn, &columns).await?;
    let plan = plan(conn, &query.sql, query.params.len()).await;
    let type_of = |oid: u32| -> Result<TypeRef> {
        types.get(&oid).cloned().ok_or_else(|| CodegenError::QueryType {
            location: format!("{}:{}", path.display(), query.line),
            name: query.name.clone(),
            message: format!("PostgreSQL described a type (oid {oid}) this build cannot name"),
        })
    };
    let mut params = Vec::with_capacity(query.params.len());
    for (n, name) in query.params.iter().enumerate() {
        let Some(&oid) = param_oids.get(n) else {
            return Err(CodegenError::QueryType {
                location: format!("{}:{}", path.display(), query.line),
                name: query.name.clone(),
                message: format!("PostgreSQL reported no type for parameter :{name}"),
            });
        };
        let ty = type_of(oid)?;
        let column = compared_column(conn, query, n).await?;
        params.push(QueryParam {
            name: name.clone(),
            ty,
            column,
        });
    }
    let mut out_columns = Vec::with_capacity(columns.len());
    for (i, (name, oid, _, _)) in columns.iter().enumerate() {
        let (name, forced) = match (name.strip_suffix('!'), name.strip_suffix('?')) {
            (Some(base), _) => (base.to_owned(), Some(false)),
            (_, Some(base)) => (base.to_owned(), Some(true)),
            _ => (name.clone(), None),
        };
        let origin = origins.get(&i);
        let counted = plan
            .outputs
            .get(i)
            .is_some_and(|expr| expr.starts_with("count("));
        let proven = match origin {
            Some((relation, _, not_null)) => {
                *not_null && plan.known && !plan.nullable.contains(relation)
            }
            None => plan.known && counted,
        };
        out_columns.push(QueryColumn {
            name,
            ty: type_of(*oid)?,
            nullable: forced.unwrap_or(!proven),
            origin: origin.map(|(relation, column, _)| {
                format!("{relation}.{}", ormkit_schema::quote_ident_if_needed(column))
            }),
        });
    }
    Ok(LockedQuery {
        file: query.file.clone(),
        name: query.name.clone(),
        checksum: ormkit_schema::migrations::checksum(&query.block),
        kind: query.kind.as_str().to_owned(),
        reads_only: plan.known && !plan.writes,
        params,
        columns: out_columns,
    })
}

fn oid_of(ty: &sqlx::postgres::PgTypeInfo) -> u32 {
    ty.oid().map_or(0, |o| o.0)
}

/// `file:line:column` and PostgreSQL's message for a query that does not prepare; `$n` in
/// the message is written as the `:name` it stands for.
fn prepare_error(
    err: sqlx::Error,
    query: &QueryDef,
    path: &std::path::Path,
    file_text: &str,
) -> CodegenError {
    let rename = |text: &str| {
        let mut text = text.to_owned();
        // Highest numbers first, so `$1` does not eat the start of `$10`.
        for (n, name) in query.params.iter().enumerate().rev() {
            text = text.replace(&format!("${}", n + 1), &format!(":{name}"));
        }
        text
    };
    let (offset, message, sqlstate) = match &err {
        sqlx::Error::Database(db) => {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            let position = pg.and_then(|pg| match pg.position() {
                Some(sqlx::postgres::PgErrorPosition::Original(p)) => Some(p),
                _ => None,
            });
            let mut message = rename(db.message());
            if let Some(pg) = pg {
                if let Some(detail) = pg.detail() {
                    message.push_str(&format!("; {}", rename(detail)));
                }
                if let Some(hint) = pg.hint() {
                    message.push_str(&format!("; hint: {hint}"));
                }
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if code == "42P08" {
                message = format!("a parameter is used with two types: {message}");
            }
            (
                position.map_or(query.offset, |p| query.file_offset(p)),
                message,
                code,
            )
        }
        other => (query.offset, other.to_string(), String::from("-")),
    };
    let (line, column) = super::parse::line_col(file_text, offset);
    CodegenError::QueryPrepare {
        location: format!("{}:{line}:{column}", path.display()),
        name: query.name.clone(),
        message,
        sqlstate,
    }
}

/// The lock's name of each type oid (`int4`, `text[]`, `public.mood`).
async fn type_names(conn: &mut PgConnection, oids: &[u32]) -> Result<HashMap<u32, TypeRef>> {
    let wanted: Vec<i64> = oids.iter().map(|&o| i64::from(o)).collect();
    let rows: Vec<(i64, String, String, Option<String>, Option<String>)> = sqlx::query_as(
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
        .map(|(oid, schema, name, elem_schema, elem_name)| {
            let ty = match (elem_schema, elem_name) {
                (Some(s), Some(n)) => TypeRef {
                    name: QualifiedName::new(&s, &n),
                    array: true,
                },
                _ => TypeRef {
                    name: QualifiedName::new(&schema, &name),
                    array: false,
                },
            };
            (oid as u32, ty)
        })
        .collect())
}

fn catalog_error(source: sqlx::Error) -> CodegenError {
    CodegenError::Introspect(ormkit_schema::IntrospectError::Query {
        what: "query types",
        source,
    })
}

/// For each result column from a table: its relation (`schema.name`), column name and
/// whether it is NOT NULL, by result position.
async fn origins(
    conn: &mut PgConnection,
    columns: &[(String, u32, Option<u32>, Option<i16>)],
) -> Result<HashMap<usize, (String, String, bool)>> {
    let mut out = HashMap::new();
    for (i, (_, _, relation, attno)) in columns.iter().enumerate() {
        let (Some(relation), Some(attno)) = (relation, attno) else {
            continue;
        };
        if *relation == 0 || *attno <= 0 {
            continue;
        }
        // NOT NULL on the column, or on its domain.
        let row: Option<(String, String, String, bool)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, a.attname::text,
                    a.attnotnull OR coalesce(t.typnotnull, false)
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND t.typtype = 'd'
             WHERE a.attrelid = $1::int8::oid AND a.attnum = $2",
        )
        .bind(i64::from(*relation))
        .bind(*attno)
        .fetch_optional(&mut *conn)
        .await
        .map_err(catalog_error)?;
        if let Some((schema, table, column, not_null)) = row {
            let relation = QualifiedName::new(&schema, &table).to_string();
            out.insert(i, (relation, column, not_null));
        }
    }
    Ok(out)
}

/// Explains `sql`'s generic plan (parameters stay parameters: nothing folds away), never
/// running it. A statement that cannot be explained gives facts that prove nothing.
async fn plan(conn: &mut PgConnection, sql: &str, params: usize) -> PlanFacts {
    let nulls = vec!["NULL"; params].join(", ");
    let execute = if params == 0 {
        "EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE ormkit_describe".to_owned()
    } else {
        format!("EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE ormkit_describe({nulls})")
    };
    let _ = sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await;
    let prepared = sqlx::raw_sql(&format!("PREPARE ormkit_describe AS {sql}"))
        .execute(&mut *conn)
        .await
        .is_ok();
    let explained: Option<Value> = if prepared {
        sqlx::query_scalar::<_, Value>(&execute)
            .fetch_one(&mut *conn)
            .await
            .ok()
    } else {
        None
    };
    if prepared {
        let _ = sqlx::raw_sql("DEALLOCATE ormkit_describe")
            .execute(&mut *conn)
            .await;
    }
    let _ = sqlx::raw_sql("RESET plan_cache_mode").execute(&mut *conn).await;
    let Some(root) = explained
        .as_ref()
        .and_then(|v| v.get(0))
        .and_then(|v| v.get("Plan"))
    else {
        return PlanFacts::default();
    };
    let mut facts = PlanFacts {
        known: true,
        outputs: root
            .get("Output")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        ..PlanFacts::default()
    };
    walk(root, false, &mut facts);
    facts
}

/// Records the relations under `node`, all nullable when `nullable`, and what outer joins
/// below it null-extend.
fn walk(node: &Value, nullable: bool, facts: &mut PlanFacts) {
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("");
    if matches!(kind, "ModifyTable" | "LockRows") {
        facts.writes = true;
    }
    if nullable {
        if let (Some(schema), Some(name)) = (
            node.get("Schema").and_then(Value::as_str),
            node.get("Relation Name").and_then(Value::as_str),
        ) {
            facts
                .nullable
                .insert(QualifiedName::new(schema, name).to_string());
        }
    }
    let join = node.get("Join Type").and_then(Value::as_str).unwrap_or("");
    for child in node.get("Plans").and_then(Value::as_array).into_iter().flatten() {
        let side = child
            .get("Parent Relationship")
            .and_then(Value::as_str)
            .unwrap_or("");
        let extended = match (join, side) {
            ("Left", "Inner") | ("Right", "Outer") | ("Full", _) => true,
            // A subplan (a scalar subquery, `EXISTS`) can produce NULL where it finds no row.
            (_, "SubPlan" | "InitPlan") => true,
            _ => false,
        };
        walk(child, nullable || extended, facts);
    }
}

/// The column parameter `n` is compared with (`schema.table.column`), when the query names
/// one plainly (whether its type is the parameter's is for the renderer to check).
async fn compared_column(
    conn: &mut PgConnection,
    query: &QueryDef,
    n: usize,
) -> Result<Option<String>> {
    let Some(Some((qualifier, column))) = query.compared.get(n) else {
        return Ok(None);
    };
    let candidates: Vec<&Vec<String>> = query
        .tables
        .iter()
        .filter(|(name, alias)| match qualifier {
            Some(q) => alias.as_ref() == Some(q) || name.last() == Some(q),
            None => true,
        })
        .map(|(name, _)| name)
        .collect();
    let mut found = Vec::new();
    for name in candidates {
        let quoted: Vec<String> = name.iter().map(|p| ormkit_schema::quote_ident(p)).collect();
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, a.attname::text
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
        )
        .bind(quoted.join("."))
        .bind(column)
        .fetch_optional(&mut *conn)
        .await
        .map_err(catalog_error)?;
        if let Some(row) = row.filter(|row| !found.contains(row)) {
            found.push(row);
        }
    }
    let [(schema, table, column)] = found.as_slice() else {
        return Ok(None);
    };
    Ok(Some(format!(
        "{}.{}",
        QualifiedName::new(schema, table),
        ormkit_schema::quote_ident_if_needed(column)
    )))
}
