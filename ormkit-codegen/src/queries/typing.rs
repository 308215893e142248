//! Typing queries on the scratch database: each is prepared (Parse/Describe, never
//! executed) for its parameter and result types, and explained (a generic plan, never run) for
//! which tables outer joins can null-extend and whether it only reads.

use super::parse::QueryDef;
use crate::error::{CodegenError, Result};
use ormkit_schema::statement_shape::{describe_statement, split_override, DescribeError};
use ormkit_schema::{LockedQuery, QualifiedName, QueryColumn, QueryParam};
use serde_json::Value;
use sqlx::postgres::PgConnection;
use std::collections::HashSet;

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
    let type_error = |message: String| CodegenError::QueryType {
        location: format!("{}:{}", path.display(), query.line),
        name: query.name.clone(),
        message,
    };
    let shape = match describe_statement(conn, &query.sql).await {
        Ok(shape) => shape,
        Err(DescribeError::Prepare(err)) => return Err(prepare_error(err, query, path, file_text)),
        Err(DescribeError::Catalog(err)) => return Err(CodegenError::Introspect(err)),
        Err(err) => return Err(type_error(err.to_string())),
    };
    let plan = plan(conn, &query.sql, query.params.len()).await;
    let mut params = Vec::with_capacity(query.params.len());
    for (n, name) in query.params.iter().enumerate() {
        let Some(ty) = shape.params.get(n) else {
            return Err(type_error(format!(
                "PostgreSQL reported no type for parameter :{name}"
            )));
        };
        let column = compared_column(conn, query, n).await?;
        params.push(QueryParam {
            name: name.clone(),
            ty: ty.clone(),
            column,
        });
    }
    let columns = shape.columns.into_iter().enumerate().map(|(i, column)| {
        let (name, forced) = split_override(&column.name);
        let counted = plan
            .outputs
            .get(i)
            .is_some_and(|expr| expr.starts_with("count("));
        let proven = match &column.origin {
            Some(origin) => {
                origin.not_null
                    && plan.known
                    && !plan.nullable.contains(&origin.relation.to_string())
            }
            None => plan.known && counted,
        };
        QueryColumn {
            name: name.to_owned(),
            ty: column.ty,
            nullable: forced.unwrap_or(!proven),
            origin: column.origin.map(|o| {
                format!(
                    "{}.{}",
                    o.relation,
                    ormkit_schema::quote_ident_if_needed(&o.column)
                )
            }),
        }
    });
    Ok(LockedQuery {
        file: query.file.clone(),
        name: query.name.clone(),
        checksum: ormkit_schema::migrations::checksum(&query.block),
        kind: query.kind.as_str().to_owned(),
        reads_only: plan.known && !plan.writes,
        params,
        columns: columns.collect(),
    })
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

fn catalog_error(error: sqlx::Error) -> CodegenError {
    CodegenError::Introspect(ormkit_schema::IntrospectError::Query {
        what: "query types",
        error,
    })
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
    let _ = sqlx::raw_sql("RESET plan_cache_mode")
        .execute(&mut *conn)
        .await;
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
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
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
