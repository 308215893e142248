//! Checked SQL: the crate's hand-written queries, prepared against the schema at build time
//! and generated as typed functions (`entities::queries::reports::active_authors(&pool, 7)`).
//! Each runs through ormkit's executor like every other statement: the same span, metrics,
//! statement count and read retry.

use crate::db::Db;
use crate::entity::SqlValue;
use crate::error::{OrmkitError, Result};
use crate::statement::exec::{from_row, stream};
use crate::statement::{Done, Op, Statement, Subject};
use futures::stream::BoxStream;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::Arguments as _;
use std::sync::OnceLock;

/// A result column of a checked query, as described at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryColumn {
    /// Its name.
    pub name: &'static str,
    /// Its type as the lock writes it (`int4`, `public.mood`, `text[]`).
    pub sql_type: &'static str,
    /// Whether it may be NULL.
    pub nullable: bool,
}

impl QueryColumn {
    /// A column `name` of `sql_type`.
    pub const fn new(name: &'static str, sql_type: &'static str, nullable: bool) -> Self {
        QueryColumn {
            name,
            sql_type,
            nullable,
        }
    }
}

/// A checked query: its text and the signature PostgreSQL described when the code was
/// generated. What the generated functions run, and what
/// [`SchemaValidator::validate_queries`](crate::SchemaValidator::validate_queries) checks
/// against the live database.
#[derive(Debug)]
pub struct CheckedQuery {
    /// Its file, relative to the queries directory.
    pub file: &'static str,
    /// Its name.
    pub name: &'static str,
    /// The SQL sent (parameters as `$1`, `$2`, …).
    pub sql: &'static str,
    /// Whether it only reads (no data-modifying statement, no `FOR UPDATE`/`FOR SHARE`):
    /// a read may go to a replica, and is sent again once if its connection fails.
    pub reads_only: bool,
    /// Its parameters' types, in `$n` order.
    pub params: &'static [&'static str],
    /// Its result columns.
    pub columns: &'static [QueryColumn],
    /// `file:name`, its OpenTelemetry `db.query.summary`, built on first use.
    summary: OnceLock<String>,
}

impl CheckedQuery {
    /// The query `name` of `file`.
    pub const fn new(
        file: &'static str,
        name: &'static str,
        sql: &'static str,
        reads_only: bool,
    ) -> Self {
        CheckedQuery {
            file,
            name,
            sql,
            reads_only,
            params: &[],
            columns: &[],
            summary: OnceLock::new(),
        }
    }

    /// Its parameters' types.
    pub const fn params(mut self, params: &'static [&'static str]) -> Self {
        self.params = params;
        self
    }

    /// Its result columns.
    pub const fn columns(mut self, columns: &'static [QueryColumn]) -> Self {
        self.columns = columns;
        self
    }

    /// `file:name` (`reports.sql:active_authors`): the statement span's name and
    /// `db.query.summary`, built once.
    pub(crate) fn summary(&'static self) -> &'static str {
        self.summary
            .get_or_init(|| format!("{}:{}", self.file, self.name))
    }

    fn statement(&'static self, params: Params) -> Result<Statement> {
        let args = params.args?;
        Ok(Statement {
            sql: self.sql.into(),
            args,
            table: Subject::Query(self),
            op: if self.reads_only {
                Op::Select
            } else {
                Op::Execute
            },
        })
    }

    /// Every row.
    pub async fn fetch_all<'a, R>(
        &'static self,
        db: impl Into<Db<'a>>,
        params: Params,
    ) -> Result<Vec<R>>
    where
        R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static,
    {
        let statement = self.statement(params)?;
        db.into().run(statement).await
    }

    /// Every row, decoded one at a time as they arrive.
    pub fn fetch<'a, R>(
        &'static self,
        db: impl Into<Db<'a>>,
        params: Params,
    ) -> BoxStream<'a, Result<R>>
    where
        R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static,
    {
        match self.statement(params) {
            Ok(statement) => stream(db.into(), statement, from_row::<R>),
            Err(err) => Box::pin(futures::stream::once(async move { Err(err) })),
        }
    }

    /// At most one row.
    pub async fn fetch_optional<'a, R>(
        &'static self,
        db: impl Into<Db<'a>>,
        params: Params,
    ) -> Result<Option<R>>
    where
        R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static,
    {
        let statement = self.statement(params)?;
        db.into().run(statement).await
    }

    /// Exactly one row; [`OrmkitError::EntityNotFound`] names the query when there is none.
    pub async fn fetch_one<'a, R>(&'static self, db: impl Into<Db<'a>>, params: Params) -> Result<R>
    where
        R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static,
    {
        let statement = self.statement(params)?;
        match db.into().run::<Option<R>>(statement).await? {
            Some(row) => Ok(row),
            None => Err(OrmkitError::EntityNotFound {
                table: format!("query {} ({})", self.name, self.file),
                key: "(its parameters)".into(),
            }),
        }
    }

    /// The rows it affected.
    pub async fn execute<'a>(&'static self, db: impl Into<Db<'a>>, params: Params) -> Result<u64> {
        let statement = self.statement(params)?;
        let Done(n) = db.into().run(statement).await?;
        Ok(n)
    }
}

/// A checked query's parameter values, bound in order: `Params::new().bind(days)`.
#[derive(Debug)]
pub struct Params {
    args: Result<PgArguments>,
}

impl Default for Params {
    fn default() -> Self {
        Params::new()
    }
}

/// A value bound as another SQL type than its Rust type's own (a `String` as `citext`): it
/// encodes the same bytes, and PostgreSQL is told the query's type.
struct As<T> {
    value: T,
    sql_type: &'static str,
}

impl<T: sqlx::Type<sqlx::Postgres>> sqlx::Type<sqlx::Postgres> for As<T> {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        T::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        T::compatible(ty)
    }
}

impl<'q, T: sqlx::Encode<'q, sqlx::Postgres>> sqlx::Encode<'q, sqlx::Postgres> for As<T> {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        self.value.encode_by_ref(buf)
    }

    fn produces(&self) -> Option<sqlx::postgres::PgTypeInfo> {
        Some(sqlx::postgres::PgTypeInfo::with_name(self.sql_type))
    }
}

impl Params {
    /// No values yet.
    pub fn new() -> Self {
        Params {
            args: Ok(PgArguments::default()),
        }
    }

    /// Binds the next parameter.
    #[allow(clippy::should_implement_trait)]
    pub fn bind<T: SqlValue>(mut self, value: T) -> Self {
        if let Ok(args) = &mut self.args {
            if let Err(source) = args.add(value) {
                self.args = Err(OrmkitError::Encode {
                    table: "checked query".into(),
                    source,
                });
            }
        }
        self
    }

    /// Binds the next parameter as the SQL type `sql_type` (what PostgreSQL described it as),
    /// where its Rust type alone would say another: a `String` for a `citext` parameter, so
    /// that it compares case-insensitively.
    pub fn bind_as<T: SqlValue>(self, value: T, sql_type: &'static str) -> Self {
        self.bind(As { value, sql_type })
    }
}
