//! The statement span's attributes, after OpenTelemetry's semantic conventions for database
//! client spans (PostgreSQL): span kind client, `db.system.name`, `db.namespace`,
//! `db.collection.name`, `db.operation.name`, `db.query.summary`, `db.query.text` (opt-in,
//! literals replaced by `?`), `db.response.status_code`, `error.type`, `server.address` and
//! `server.port`. `otel.name`, `otel.kind` and `otel.status_code` are the fields
//! `tracing-opentelemetry` turns into the span's name, kind and status.
//!
//! The names a statement is known by (its table, operation and summary) are built once per
//! entity with its fixed SQL ([`super::EntitySql`]), once per checked query, and looked up per
//! statement; the span's fields are computed only when a subscriber wants the span.

use super::{sql, Op};
use crate::error::{ErrorCategory, OrmkitError};
use crate::meta::EntityMeta;
use ormkit_schema::sql::{tokenize, Open, TokenKind};
use sqlx::postgres::PgConnectOptions;
use std::sync::Arc;
use std::time::Duration;
use tracing::field::Empty;

/// What a statement is about: an entity's table (or view), or a checked query.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject {
    /// Rows of this table or view.
    Entity(&'static EntityMeta),
    /// A checked query.
    #[cfg(feature = "orm")]
    Query(&'static crate::checked::CheckedQuery),
    /// A function of the system catalog ormkit calls on its own behalf (a cluster's
    /// `pg_current_wal_insert_lsn`).
    #[cfg_attr(not(feature = "orm"), allow(dead_code))]
    Catalog(&'static str),
}

impl Subject {
    /// ormkit's own label (the span's `table` field, the `table` metric label): the
    /// table's name, or the checked query's.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Subject::Entity(meta) => meta.name,
            #[cfg(feature = "orm")]
            Subject::Query(query) => query.name,
            Subject::Catalog(function) => function,
        }
    }

    /// The conventions' names of a statement doing `op` on this target.
    pub(crate) fn names(self, op: Op) -> Names {
        match self {
            // A look-up in the system catalog on the entity's behalf, or ormkit's own.
            Subject::Entity(_) if op == Op::Catalog => CATALOG,
            Subject::Catalog(_) => CATALOG,
            Subject::Entity(meta) => {
                let fixed = sql(meta);
                Names {
                    collection: Some(&fixed.collection),
                    schema: Some(meta.schema),
                    operation: op.operation_name(),
                    summary: fixed.summary(op),
                }
            }
            #[cfg(feature = "orm")]
            Subject::Query(query) => Names {
                collection: None,
                schema: None,
                operation: None,
                summary: query.summary(),
            },
        }
    }
}

/// The names of a look-up in the system catalog.
const CATALOG: Names = Names {
    collection: None,
    schema: Some("pg_catalog"),
    operation: Some("SELECT"),
    summary: "SELECT pg_catalog",
};

/// How a statement is named in its span and in `db.client.operation.duration`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names {
    /// `db.collection.name`: `schema.table`, unquoted.
    pub(crate) collection: Option<&'static str>,
    /// The schema half of `db.namespace`.
    pub(crate) schema: Option<&'static str>,
    /// `db.operation.name`: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `COPY` (none for a
    /// checked query: ormkit does not parse its text).
    pub(crate) operation: Option<&'static str>,
    /// `db.query.summary` and the span's name: `SELECT public.users`, or a checked query's
    /// `file:name`.
    pub(crate) summary: &'static str,
}

/// The server as the client was configured to reach it (never the connection actually
/// used): `server.address`, `server.port` and the database half of `db.namespace`. Unknown
/// for statements on a borrowed `&mut PgConnection`, whose options sqlx does not expose.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoint(Option<Arc<PgConnectOptions>>);

impl Endpoint {
    /// The server `pool` connects to.
    pub(crate) fn of(pool: &sqlx::PgPool) -> Self {
        Endpoint(Some(pool.connect_options()))
    }

    fn address(&self) -> Option<String> {
        let options = self.0.as_ref()?;
        Some(match options.get_socket() {
            Some(dir) => dir.display().to_string(),
            None => options.get_host().to_owned(),
        })
    }

    fn port(&self) -> Option<u16> {
        self.0.as_ref().map(|o| o.get_port())
    }

    /// The database: the one configured, else PostgreSQL's default (the user's name).
    fn database(&self) -> Option<&str> {
        let options = self.0.as_ref()?;
        Some(options.get_database().unwrap_or(options.get_username()))
    }
}

#[cfg(feature = "orm")]
impl crate::db::Db<'_> {
    /// The server statements on this handle go to, as configured.
    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            crate::db::Db::Pool(pool) => Endpoint::of(pool),
            crate::db::Db::Cluster(cluster) => Endpoint::of(cluster.primary()),
            crate::db::Db::Tx(tx) => tx.endpoint(),
            crate::db::Db::Conn(_) => Endpoint::default(),
        }
    }
}

#[cfg(feature = "orm")]
impl crate::db::Target<'_, '_> {
    /// The server a statement sent here goes to, as configured.
    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            crate::db::Target::Pool { pool, .. } => Endpoint::of(pool),
            crate::db::Target::Tx(tx) => tx.endpoint(),
            crate::db::Target::Conn(_) => Endpoint::default(),
        }
    }
}

/// Records `endpoint`'s `server.address` and `server.port` on `span` (a statement sent
/// elsewhere than the server it started for).
pub(crate) fn record_endpoint(span: &tracing::Span, endpoint: &Endpoint) {
    if let Some(address) = endpoint.address() {
        span.record("server.address", address.as_str());
    }
    if let Some(port) = endpoint.port() {
        span.record("server.port", port);
    }
}

/// `{database}|{schema}`, or whichever half is known.
fn namespace(database: Option<&str>, schema: Option<&str>) -> Option<String> {
    match (database, schema) {
        (Some(d), Some(s)) => Some(format!("{d}|{s}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

/// The `ormkit.query` span of one statement: `label` and `op` are ormkit's own fields, the
/// rest the conventions' attributes. `endpoint` is asked only when a subscriber wants the
/// span, and `sql` is recorded only after [`crate::metrics::record_query_text`].
pub(crate) fn statement(
    label: &'static str,
    op: Op,
    pool: &'static str,
    names: &Names,
    sql: &str,
    endpoint: impl FnOnce() -> Endpoint,
) -> tracing::Span {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return tracing::Span::none();
    }
    let endpoint = endpoint();
    let text = crate::metrics::query_text_recorded().then(|| without_literals(sql));
    let namespace = namespace(endpoint.database(), names.schema);
    tracing::debug_span!(
        "ormkit.query",
        otel.name = names.summary,
        otel.kind = "client",
        otel.status_code = Empty,
        db.system.name = "postgresql",
        db.namespace = namespace.as_deref(),
        db.collection.name = names.collection,
        db.operation.name = names.operation,
        db.query.summary = names.summary,
        db.query.text = text.as_deref(),
        db.response.status_code = Empty,
        error.type = Empty,
        server.address = endpoint.address().as_deref(),
        server.port = endpoint.port(),
        table = label,
        op = op.as_str(),
        pool,
        rows = Empty,
        duration_us = Empty,
        error = Empty,
    )
}

/// The span of one bulk call (`ormkit.batch`), around the spans of the statements it sends:
/// one per chunk (one per patch for updates). Sending two or more (or none) makes it a batch
/// in OpenTelemetry's sense: `db.operation.batch.size` is the number of statements, and the
/// summary and operation name are prefixed with `BATCH` (`BATCH COPY public.audit_log`). A
/// call that sends one statement is a single operation, without them (many rows in one
/// statement do not make a batch).
#[cfg(feature = "parallel")]
#[derive(Debug)]
pub(crate) struct Batch {
    span: tracing::Span,
    start: std::time::Instant,
}

#[cfg(feature = "parallel")]
impl Batch {
    /// A bulk `op` on `meta`'s table that sends `statements` statements to `endpoint`.
    pub(crate) fn start(
        meta: &'static EntityMeta,
        op: Op,
        statements: usize,
        endpoint: impl FnOnce() -> Endpoint,
    ) -> Self {
        Batch {
            span: batch_span(meta, op, statements, endpoint),
            start: std::time::Instant::now(),
        }
    }

    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Ends the batch with the call's outcome.
    pub(crate) fn finish<T>(self, result: &crate::error::Result<T>) {
        let failure = result.as_ref().err().map(Failure::of);
        finish(&self.span, self.start.elapsed(), None, failure.as_ref());
    }
}

#[cfg(feature = "parallel")]
fn batch_span(
    meta: &'static EntityMeta,
    op: Op,
    statements: usize,
    endpoint: impl FnOnce() -> Endpoint,
) -> tracing::Span {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return tracing::Span::none();
    }
    let names = Subject::Entity(meta).names(op);
    let batch = statements != 1;
    let prefixed = |name: &str| {
        if batch {
            format!("BATCH {name}")
        } else {
            name.to_owned()
        }
    };
    let summary = prefixed(names.summary);
    let operation = names.operation.map(prefixed);
    let endpoint = endpoint();
    let namespace = namespace(endpoint.database(), names.schema);
    tracing::debug_span!(
        "ormkit.batch",
        otel.name = summary.as_str(),
        otel.kind = "client",
        otel.status_code = Empty,
        db.system.name = "postgresql",
        db.namespace = namespace.as_deref(),
        db.collection.name = names.collection,
        db.operation.name = operation.as_deref(),
        db.query.summary = summary.as_str(),
        db.operation.batch.size = batch.then_some(statements as u64),
        db.response.status_code = Empty,
        error.type = Empty,
        server.address = endpoint.address().as_deref(),
        server.port = endpoint.port(),
        table = meta.name,
        op = op.as_str(),
        statements = statements as u64,
        duration_us = Empty,
        error = Empty,
    )
}

/// How a statement failed, as its span and metrics say it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) category: ErrorCategory,
    /// `db.response.status_code`: the SQLSTATE the server answered with.
    pub(crate) sqlstate: Option<String>,
}

impl Failure {
    pub(crate) fn of(err: &OrmkitError) -> Self {
        Failure {
            category: err.category(),
            sqlstate: err.sqlstate(),
        }
    }

    /// `error.type`: the SQLSTATE when the server sent one, else ormkit's category
    /// (`connection`, `pool_timeout`, `not_found`, …).
    pub(crate) fn error_type(&self) -> &str {
        self.sqlstate
            .as_deref()
            .unwrap_or_else(|| self.category.as_str())
    }
}

/// Records how the statement ended on its span.
pub(crate) fn finish(
    span: &tracing::Span,
    elapsed: Duration,
    rows: Option<u64>,
    failure: Option<&Failure>,
) {
    if span.is_disabled() {
        return;
    }
    span.record("duration_us", elapsed.as_micros() as u64);
    if let Some(rows) = rows {
        span.record("rows", rows);
    }
    if let Some(failure) = failure {
        span.record("otel.status_code", "ERROR");
        span.record("error", failure.category.as_str());
        span.record("error.type", failure.error_type());
        if let Some(code) = &failure.sqlstate {
            span.record("db.response.status_code", code.as_str());
        }
    }
}

/// `sql` with every literal a statement could carry a value in — strings (`'…'`, `E'…'`,
/// `$tag$…$tag$`) and numbers — replaced by `?`; quoted identifiers, `$n` parameters and
/// comments stay. ormkit binds every value as a parameter, but a page's `LIMIT`/`OFFSET`
/// and a checked query's own literals are text. The tokens are `ormkit_schema::sql::lex`'s,
/// as the migration splitter and the query files read them.
pub(crate) fn without_literals(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for token in tokenize(sql) {
        match token.kind {
            TokenKind::String
            | TokenKind::DollarString
            | TokenKind::Number
            | TokenKind::Unterminated(Open::String | Open::DollarString) => out.push('?'),
            _ => out.push_str(token.text),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::without_literals;

    #[test]
    fn literals_become_question_marks_and_the_rest_stays() {
        let cases = [
            (
                r#"SELECT "id", "a1" FROM "public"."users" WHERE "id" = $1::int8 LIMIT 20 OFFSET 40"#,
                r#"SELECT "id", "a1" FROM "public"."users" WHERE "id" = $1::int8 LIMIT ? OFFSET ?"#,
            ),
            (
                "SELECT * FROM t WHERE s = 'it''s secret' AND n > 3.5e+2",
                "SELECT * FROM t WHERE s = ? AND n > ?",
            ),
            (r"SELECT E'a\'b' , x2", "SELECT ? , x2"),
            ("SELECT $body$ 'x' $body$, $$y$$, $2", "SELECT ?, ?, $2"),
            (
                "SELECT 1 -- a comment with 42\n/* 7 */ FROM \"t 9\"",
                "SELECT ? -- a comment with 42\n/* 7 */ FROM \"t 9\"",
            ),
            ("SELECT 'ünïcode', \"é\"", "SELECT ?, \"é\""),
            ("SELECT 'unterminated", "SELECT ?"),
            // As the migration splitter and the query files read them: a non-ASCII tag,
            // nested comments, an identifier ending in `e` before a string.
            (
                "SELECT $é$ 'x' ; $é$, /* a /* b */ 1 */ 2, name'x'",
                "SELECT ?, /* a /* b */ 1 */ ?, name?",
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(without_literals(sql), expected, "{sql}");
        }
    }
}
