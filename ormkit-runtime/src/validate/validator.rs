//! [`SchemaValidator`]: introspects the live database and compares it with what the code
//! expects.

#[cfg(feature = "orm")]
use ormkit_schema::describe::{describe_statement, DescribeError};
use ormkit_schema::{introspect, IntrospectOptions, SchemaLock, SchemaModel};
#[cfg(feature = "orm")]
use sqlx::Connection as _;
use sqlx::PgPool;

#[cfg(feature = "orm")]
use super::compare::compare_query;
use super::compare::{compare_enum, compare_relation, compare_types};
use super::error::ValidationError;
use super::expected::ExpectedRelation;
#[cfg(feature = "orm")]
use super::finding::Finding;
use super::finding::ValidationReport;
#[cfg(feature = "orm")]
use crate::checked::CheckedQuery;
use crate::entity::Entity;
use crate::meta::EntityMeta;

/// Compares the live database with the schema the code was generated for.
///
/// Each call introspects the relevant schemas once, with the same code the generator uses,
/// and returns every difference; it reads the catalog only.
#[derive(Debug, Clone)]
pub struct SchemaValidator {
    pool: PgPool,
}

impl SchemaValidator {
    /// A validator on `pool`'s database.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// use ormkit::SchemaValidator;
    ///
    /// // At startup, before serving: the database is the one the binary was built for.
    /// SchemaValidator::new(&pool)
    ///     .validate_lock(entities::SCHEMA_LOCK)
    ///     .await?
    ///     .into_result()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(pool: &PgPool) -> Self {
        SchemaValidator { pool: pool.clone() }
    }

    /// Compares one entity's table or view (its columns' names, types and nullability, its
    /// primary key, and the labels of the enum types its columns use) with the database.
    ///
    /// # Errors
    ///
    /// [`ValidationError::Database`], [`ValidationError::Introspect`]; differences are in the
    /// report, not errors (see [`ValidationReport::into_result`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// use entities::{Post, User};
    /// use ormkit::validate::{Finding, Severity};
    /// use ormkit::SchemaValidator;
    ///
    /// let validator = SchemaValidator::new(&pool);
    /// assert!(validator.validate_entity::<User>().await?.is_ok());
    /// // Someone relaxed a column the code reads into a non-`Option` field.
    /// ormkit::sqlx::query("ALTER TABLE posts ALTER COLUMN body DROP NOT NULL")
    ///     .execute(&pool)
    ///     .await?;
    /// let report = validator.validate_entity::<Post>().await?;
    /// let finding = report.errors().next().expect("an error");
    /// assert!(matches!(finding, Finding::NullabilityMismatch { column, .. } if column == "body"));
    /// assert_eq!(finding.severity(), Severity::Error);
    /// assert!(report.into_result().is_err()); // `ValidationError::Drift`, listing the findings
    /// # Ok(())
    /// # }
    /// ```
    pub async fn validate_entity<T: Entity>(&self) -> Result<ValidationReport, ValidationError> {
        self.validate_all(&[T::META]).await
    }

    /// Compares every entity of `entities` with the database, in one report.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// // Every table and view the build generated (`entities::ENTITIES`).
    /// let report = ormkit::SchemaValidator::new(&pool)
    ///     .validate_all(entities::ENTITIES)
    ///     .await?;
    /// assert!(report.is_ok(), "{report}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`validate_entity`](Self::validate_entity).
    pub async fn validate_all(
        &self,
        entities: &[&EntityMeta],
    ) -> Result<ValidationReport, ValidationError> {
        let enums = || entities.iter().flat_map(|m| m.enums.iter());
        let mut schemas: Vec<String> = entities
            .iter()
            .map(|m| m.schema)
            .chain(enums().map(|e| e.schema))
            .map(str::to_owned)
            .collect();
        schemas.sort();
        schemas.dedup();
        let live = self.introspect(schemas).await?;
        let mut findings = Vec::new();
        for meta in entities {
            compare_relation(&ExpectedRelation::from_meta(meta), &live, &mut findings);
        }
        let mut checked: Vec<(&str, &str)> = Vec::new();
        for e in enums() {
            if !checked.contains(&(e.schema, e.name)) {
                checked.push((e.schema, e.name));
                compare_enum(e, &live, &mut findings);
            }
        }
        Ok(ValidationReport::new(findings))
    }

    /// Compares the database with a `schema.lock` text — typically the generated
    /// `entities::SCHEMA_LOCK`, the lock the binary was built from: every relation, column,
    /// primary key, enum, domain and composite type it describes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// // A column the code does not know: a warning (inserts leave it out), not an error.
    /// ormkit::sqlx::query("ALTER TABLE users ADD COLUMN nickname text")
    ///     .execute(&pool)
    ///     .await?;
    /// let report = ormkit::SchemaValidator::new(&pool)
    ///     .validate_lock(entities::SCHEMA_LOCK)
    ///     .await?;
    /// assert_eq!(report.errors().count(), 0);
    /// assert_eq!(report.warnings().count(), 1);
    /// println!("{report}"); // one line per finding, errors first
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ValidationError::Lock`] when `lock` is not a valid lock, and as
    /// [`validate_entity`](Self::validate_entity).
    pub async fn validate_lock(&self, lock: &str) -> Result<ValidationReport, ValidationError> {
        let lock = SchemaLock::parse(lock, "schema.lock").map_err(ValidationError::Lock)?;
        self.validate_schema(&lock.schema).await
    }

    /// Compares the database with a schema model (what [`validate_lock`](Self::validate_lock)
    /// does after parsing).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// let lock = ormkit_schema::SchemaLock::parse(entities::SCHEMA_LOCK, "schema.lock")?;
    /// let report = ormkit::SchemaValidator::new(&pool)
    ///     .validate_schema(&lock.schema)
    ///     .await?;
    /// assert!(report.is_ok(), "{report}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`validate_entity`](Self::validate_entity).
    pub async fn validate_schema(
        &self,
        expected: &SchemaModel,
    ) -> Result<ValidationReport, ValidationError> {
        let live = self.introspect(expected.schemas.clone()).await?;
        let mut findings = Vec::new();
        compare_types(expected, &live, &mut findings);
        for relation in &expected.relations {
            compare_relation(
                &ExpectedRelation::from_model(relation),
                &live,
                &mut findings,
            );
        }
        Ok(ValidationReport::new(findings))
    }

    /// Prepares every checked query (typically the generated `entities::queries::QUERIES`)
    /// on the database, running none, and compares what PostgreSQL describes with what the
    /// functions were generated for: the parameters' types, the result columns' names and
    /// types, and the nullability of the table columns read into non-`Option` fields.
    ///
    /// # Errors
    ///
    /// [`ValidationError::Database`] without a connection; [`ValidationError::Introspect`]
    /// when the catalog cannot name a described type. A query that no longer prepares is a
    /// finding ([`Finding::QueryFails`]), not an error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = ormkit_tests::support::TestDb::new().await?;
    /// # let pool = db.pool.clone();
    /// # use ormkit_tests::entities;
    /// use ormkit::validate::Finding;
    ///
    /// let validator = ormkit::SchemaValidator::new(&pool);
    /// assert!(validator.validate_queries(entities::queries::QUERIES).await?.is_ok());
    /// ormkit::sqlx::query("ALTER TABLE users RENAME COLUMN display_name TO shown_name")
    ///     .execute(&pool)
    ///     .await?;
    /// let report = validator.validate_queries(entities::queries::QUERIES).await?;
    /// assert!(report.errors().any(|f| matches!(f, Finding::QueryFails { .. })));
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "orm")]
    pub async fn validate_queries(
        &self,
        queries: &[&CheckedQuery],
    ) -> Result<ValidationReport, ValidationError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ValidationError::Database)?;
        // Statements this connection prepared before describe the schema of then; and
        // what validation prepares is not the application's to keep.
        conn.clear_cached_statements()
            .await
            .map_err(ValidationError::Database)?;
        let mut findings = Vec::new();
        for query in queries {
            let label = format!("{}: {}", query.file, query.name);
            match describe_statement(&mut conn, query.sql).await {
                Ok(shape) => compare_query(query, &label, &shape, &mut findings),
                Err(DescribeError::Prepare(sqlx::Error::Database(db))) => {
                    findings.push(Finding::QueryFails {
                        query: label,
                        sqlstate: db.code().map(|c| c.into_owned()).unwrap_or_default(),
                        message: db.message().to_owned(),
                    });
                }
                Err(DescribeError::Prepare(err)) => return Err(ValidationError::Database(err)),
                Err(DescribeError::Catalog(err)) => return Err(ValidationError::Introspect(err)),
                Err(err) => {
                    findings.push(Finding::QueryFails {
                        query: label,
                        sqlstate: String::new(),
                        message: err.to_string(),
                    });
                }
            }
        }
        conn.clear_cached_statements()
            .await
            .map_err(ValidationError::Database)?;
        Ok(ValidationReport::new(findings))
    }

    async fn introspect(&self, schemas: Vec<String>) -> Result<SchemaModel, ValidationError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(ValidationError::Database)?;
        let options = IntrospectOptions {
            schemas: Some(schemas),
            ..IntrospectOptions::default()
        };
        introspect(&mut conn, &options)
            .await
            .map_err(ValidationError::Introspect)
    }
}
