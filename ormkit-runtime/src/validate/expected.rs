//! What the code expects of a relation, from the lock's model or from an entity's metadata,
//! in one shape so both are compared by the same code.

use ormkit_schema::{QualifiedName, Relation, TypeRef};

use crate::meta::EntityMeta;

/// A relation as the code expects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpectedRelation {
    pub(crate) name: QualifiedName,
    pub(crate) columns: Vec<ExpectedColumn>,
    /// Primary-key columns in key order; empty for none.
    pub(crate) primary_key: Vec<String>,
}

/// A column as the code expects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpectedColumn {
    pub(crate) name: String,
    /// The type in the lock's notation (`int4`, `text[]`, `public.mood`).
    pub(crate) ty: String,
    pub(crate) nullable: bool,
}

impl ExpectedRelation {
    /// From a relation of the lock's model.
    pub(crate) fn from_model(relation: &Relation) -> Self {
        ExpectedRelation {
            name: relation.name.clone(),
            columns: relation
                .columns
                .iter()
                .map(|c| ExpectedColumn {
                    name: c.name.clone(),
                    ty: c.ty.to_string(),
                    nullable: c.nullable,
                })
                .collect(),
            primary_key: relation
                .primary_key
                .as_ref()
                .map(|key| key.columns.clone())
                .unwrap_or_default(),
        }
    }

    /// From a generated entity's metadata.
    pub(crate) fn from_meta(meta: &EntityMeta) -> Self {
        ExpectedRelation {
            name: QualifiedName::new(meta.schema, meta.name),
            columns: meta
                .columns
                .iter()
                .map(|c| ExpectedColumn {
                    name: c.name.to_owned(),
                    ty: canonical_type(c.sql_type),
                    nullable: c.nullable,
                })
                .collect(),
            primary_key: meta.primary_key.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

/// A type name in the lock's canonical notation (quoting only where needed).
pub(crate) fn canonical_type(text: &str) -> String {
    text.parse::<TypeRef>()
        .map_or_else(|_| text.to_owned(), |ty| ty.to_string())
}
