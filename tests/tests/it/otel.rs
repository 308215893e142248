//! The statement spans carry OpenTelemetry's database attributes (stable conventions,
//! PostgreSQL): checked on a select, a failing insert, a checked query and a bulk COPY, with
//! the spans captured by a `tracing-subscriber` layer; the duration also goes out as
//! `db.client.operation.duration`.

use ormkit::sqlx::PgPool;
use ormkit::{ParallelExecutor, Repository};
use ormkit_tests::entities::queries::users as user_queries;
use ormkit_tests::entities::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A closed span: its name, its parent's name and every field recorded on it, as text.
#[derive(Debug, Clone)]
struct Closed {
    name: &'static str,
    parent: Option<&'static str>,
    fields: BTreeMap<String, String>,
}

impl Closed {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    /// Panics, naming the span, unless each `(field, value)` is recorded as given.
    fn expect(&self, pairs: &[(&str, &str)]) {
        for (field, value) in pairs {
            assert_eq!(self.get(field), Some(*value), "{field} of {self:#?}");
        }
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// Every span closed while the guard lives (on this thread), with its fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Closed>>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                values.record(fields);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span.extensions_mut().remove::<Fields>().unwrap_or_default();
            self.0.lock().unwrap().push(Closed {
                name: span.name(),
                parent: span.parent().map(|p| p.name()),
                fields: fields.0,
            });
        }
    }
}

impl Capture {
    fn start() -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        (capture, crate::span_capture::set_default(subscriber))
    }

    /// The spans closed so far, emptied.
    fn take(&self) -> Vec<Closed> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn queries(spans: &[Closed]) -> Vec<&Closed> {
    spans.iter().filter(|s| s.name == "ormkit.query").collect()
}

/// `server.address` / `server.port` / the database of `db.namespace`, as the pool's options
/// say.
fn server_of(pool: &PgPool) -> (String, String, String) {
    let options = pool.connect_options();
    let address = match options.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let database = options.get_database().unwrap().to_owned();
    (address, options.get_port().to_string(), database)
}

#[ormkit::test]
async fn a_select_a_failing_insert_and_a_checked_query_carry_the_database_attributes(
    pool: PgPool,
) -> anyhow::Result<()> {
    let (address, port, database) = server_of(&pool);
    let namespace = format!("{database}|public");
    let users = Repository::<User>::new(&pool);
    let ada = users.insert(NewUser::new("ada@example.com".into())).await?;
    let (capture, _guard) = Capture::start();

    // A select, without the query text (it is opt-in).
    let secret = "ada@example.com";
    let found = User::query()
        .filter(users::EMAIL.eq(secret))
        .limit(3)
        .fetch_all(&pool)
        .await?;
    assert_eq!(found, vec![ada.clone()]);
    let spans = capture.take();
    let [select] = queries(&spans)[..] else {
        panic!("one statement: {spans:#?}")
    };
    select.expect(&[
        ("otel.name", "SELECT public.users"),
        ("otel.kind", "client"),
        ("db.system.name", "postgresql"),
        ("db.namespace", &namespace),
        ("db.collection.name", "public.users"),
        ("db.operation.name", "SELECT"),
        ("db.query.summary", "SELECT public.users"),
        ("server.address", &address),
        ("server.port", &port),
        ("table", "users"),
        ("op", "select"),
        ("rows", "1"),
    ]);
    for absent in ["db.query.text", "otel.status_code", "error.type"] {
        assert_eq!(select.get(absent), None, "{absent}: {select:#?}");
    }

    // Opted in: the text, with parameters and literals as placeholders, never the values.
    ormkit::metrics::record_query_text(true);
    let again = User::query()
        .filter(users::EMAIL.eq(secret))
        .limit(3)
        .fetch_all(&pool)
        .await;
    ormkit::metrics::record_query_text(false);
    assert_eq!(again?, vec![ada.clone()]);
    let spans = capture.take();
    let text = queries(&spans)[0].get("db.query.text").unwrap().to_owned();
    assert!(text.contains("FROM \"public\".\"users\""), "{text}");
    assert!(text.contains("$1") && text.contains("LIMIT ?"), "{text}");
    assert!(!text.contains(secret), "{text}");

    // A failing insert: the SQLSTATE as status code and error type, the span's status.
    let duplicate = users.insert(NewUser::new(secret.into())).await;
    assert_eq!(duplicate.unwrap_err().sqlstate().as_deref(), Some("23505"));
    let spans = capture.take();
    let [insert] = queries(&spans)[..] else {
        panic!("one statement: {spans:#?}")
    };
    insert.expect(&[
        ("otel.name", "INSERT public.users"),
        ("otel.kind", "client"),
        ("otel.status_code", "ERROR"),
        ("db.system.name", "postgresql"),
        ("db.namespace", &namespace),
        ("db.collection.name", "public.users"),
        ("db.operation.name", "INSERT"),
        ("db.query.summary", "INSERT public.users"),
        ("db.response.status_code", "23505"),
        ("error.type", "23505"),
        ("error", "constraint"),
        ("server.address", &address),
        ("server.port", &port),
        ("op", "insert"),
    ]);
    assert_eq!(insert.get("rows"), None);

    // A checked query: named by its file and name; ormkit does not parse its SQL for an
    // operation or a table.
    let by_email = user_queries::user_by_email(&pool, secret.into()).await?;
    assert_eq!(by_email, Some(ada));
    let spans = capture.take();
    let [checked] = queries(&spans)[..] else {
        panic!("one statement: {spans:#?}")
    };
    checked.expect(&[
        ("otel.name", "users.sql:user_by_email"),
        ("db.query.summary", "users.sql:user_by_email"),
        ("db.system.name", "postgresql"),
        ("db.namespace", &database),
        ("table", "user_by_email"),
    ]);
    assert_eq!(checked.get("db.operation.name"), None);
    assert_eq!(checked.get("db.collection.name"), None);
    Ok(())
}

/// A bulk COPY in three statements is a batch of three: `ormkit.batch` with
/// `db.operation.batch.size`, around one COPY span per chunk.
#[ormkit::test]
async fn a_bulk_copy_is_a_batch_of_copy_statements(pool: PgPool) -> anyhow::Result<()> {
    let (address, port, database) = server_of(&pool);
    let namespace = format!("{database}|public");
    let (capture, _guard) = Capture::start();
    let logs: Vec<NewAuditLog> = (0..250)
        .map(|i| NewAuditLog::new(format!("line {i}")))
        .collect();
    let written = ParallelExecutor::new(&pool, 2)
        .copy_chunk_size(100)
        .bulk_insert::<AuditLog>(logs)
        .await?;
    assert_eq!(written, 250);
    let spans = capture.take();
    let batches: Vec<&Closed> = spans.iter().filter(|s| s.name == "ormkit.batch").collect();
    let [batch] = batches[..] else {
        panic!("one batch: {spans:#?}")
    };
    batch.expect(&[
        ("otel.name", "BATCH COPY public.audit_log"),
        ("otel.kind", "client"),
        ("db.system.name", "postgresql"),
        ("db.namespace", &namespace),
        ("db.collection.name", "public.audit_log"),
        ("db.operation.name", "BATCH COPY"),
        ("db.query.summary", "BATCH COPY public.audit_log"),
        ("db.operation.batch.size", "3"),
        ("server.address", &address),
        ("server.port", &port),
    ]);
    let mut copies: Vec<&Closed> = queries(&spans)
        .into_iter()
        .filter(|s| s.get("op") == Some("copy"))
        .collect();
    copies.sort_by_key(|s| s.get("rows").map(str::to_owned));
    assert_eq!(copies.len(), 3, "{spans:#?}");
    for (copy, rows) in copies.iter().zip(["100", "100", "50"]) {
        assert_eq!(copy.parent, Some("ormkit.batch"), "{copy:#?}");
        copy.expect(&[
            ("otel.name", "COPY public.audit_log"),
            ("otel.kind", "client"),
            ("db.system.name", "postgresql"),
            ("db.namespace", &namespace),
            ("db.collection.name", "public.audit_log"),
            ("db.operation.name", "COPY"),
            ("db.query.summary", "COPY public.audit_log"),
            ("server.address", &address),
            ("server.port", &port),
            ("rows", rows),
        ]);
        assert_eq!(copy.get("db.operation.batch.size"), None, "{copy:#?}");
    }

    // One statement is a single operation, not a batch of one.
    let one = ParallelExecutor::new(&pool, 1)
        .bulk_insert::<AuditLog>(vec![NewAuditLog::new("alone".into())])
        .await?;
    assert_eq!(one, 1);
    let spans = capture.take();
    let batch = spans.iter().find(|s| s.name == "ormkit.batch").unwrap();
    batch.expect(&[
        ("otel.name", "COPY public.audit_log"),
        ("db.operation.name", "COPY"),
    ]);
    assert_eq!(batch.get("db.operation.batch.size"), None, "{batch:#?}");
    Ok(())
}

/// `db.client.operation.duration`, beside ormkit's own histogram, with the conventions'
/// attributes (through a recorder local to this test's thread).
#[ormkit::test]
async fn the_duration_is_also_db_client_operation_duration(pool: PgPool) -> anyhow::Result<()> {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let users = Repository::<User>::new(&pool);
    users.insert(NewUser::new("m@x.io".into())).await?;
    let _ = users
        .insert(NewUser::new("m@x.io".into()))
        .await
        .unwrap_err();

    let recorded = snapshotter.snapshot().into_vec();
    let samples = |labels: &[(&str, &str)]| -> usize {
        recorded
            .iter()
            .filter(|(key, ..)| {
                let key = key.key();
                key.name() == "db.client.operation.duration"
                    && key.labels().count() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
            })
            .map(|(.., value)| match value {
                DebugValue::Histogram(samples) => samples.len(),
                other => panic!("not a histogram: {other:?}"),
            })
            .sum()
    };
    let insert = [
        ("db.system.name", "postgresql"),
        ("db.operation.name", "INSERT"),
        ("db.collection.name", "public.users"),
        ("db.query.summary", "INSERT public.users"),
    ];
    assert_eq!(samples(&insert), 1, "{recorded:#?}");
    let mut failed = insert.to_vec();
    failed.extend([
        ("error.type", "23505"),
        ("db.response.status_code", "23505"),
    ]);
    assert_eq!(samples(&failed), 1, "{recorded:#?}");
    Ok(())
}
