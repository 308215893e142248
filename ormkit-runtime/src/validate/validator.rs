//! [`SchemaValidator`]: introspects the live database and compares it with what the code
//! expects.

use ormkit_schema::{introspect, IntrospectOptions, SchemaLock, SchemaModel};
use sqlx::PgPool;

use super::compare::{compare_enum, compare_relation, compare_types};
use super::error::ValidationError;
use super::expected::ExpectedRelation;
use super::finding::ValidationReport;
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
    pub async fn validate_entity<T: Entity>(&self) -> Result<ValidationReport, ValidationError> {
        self.validate_all(&[T::META]).await
    }

    /// Compares every entity of `entities` with the database, in one report.
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
