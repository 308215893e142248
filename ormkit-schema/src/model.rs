//! The schema model: what introspection reads, what `schema.lock` stores and what the code
//! generator renders. Plain data, no database handle, every list in a canonical order.

use crate::ident::{quote_ident_if_needed, ParseNameError, QualifiedName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Everything ormkit knows about a database's schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaModel {
    /// The schemas (namespaces) that were introspected, sorted.
    pub schemas: Vec<String>,
    /// Enum types, sorted by name.
    pub enums: Vec<EnumType>,
    /// Domains, sorted by name.
    pub domains: Vec<Domain>,
    /// Composite types (`CREATE TYPE … AS (…)`), sorted by name.
    pub composites: Vec<CompositeType>,
    /// Range types, sorted by name.
    pub ranges: Vec<RangeType>,
    /// Tables, views and materialized views, sorted by name.
    pub relations: Vec<Relation>,
}

/// A PostgreSQL enum type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    /// Its qualified name.
    pub name: QualifiedName,
    /// Labels in their declared (sort) order, exactly as written.
    pub labels: Vec<String>,
    /// `COMMENT ON TYPE`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A domain: a base type with constraints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Its qualified name.
    pub name: QualifiedName,
    /// The type it is based on (itself possibly a domain).
    pub base: TypeRef,
    /// `NOT NULL` on the domain.
    pub not_null: bool,
    /// The domain's default expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `CHECK` constraints, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// `COMMENT ON DOMAIN`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeType {
    /// Its qualified name.
    pub name: QualifiedName,
    /// Its fields in order. Composite fields are always nullable.
    pub fields: Vec<Field>,
    /// `COMMENT ON TYPE`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A field of a composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// The field's type.
    #[serde(rename = "type")]
    pub ty: TypeRef,
    /// `COMMENT ON COLUMN` of the field, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A range type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeType {
    /// Its qualified name.
    pub name: QualifiedName,
    /// The element type.
    pub subtype: TypeRef,
    /// `COMMENT ON TYPE`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A reference to a type by name; `array` for an array of it.
///
/// Text form: `int4`, `text[]` for `pg_catalog` types, `public.mood[]` for others.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TypeRef {
    /// The type (for an array, its element type).
    pub name: QualifiedName,
    /// Whether this is an array of `name`. PostgreSQL does not track dimensions.
    pub array: bool,
}

impl TypeRef {
    /// A `pg_catalog` type, such as `int4`.
    pub fn builtin(name: &str) -> Self {
        TypeRef {
            name: QualifiedName::new("pg_catalog", name),
            array: false,
        }
    }

    /// The element type of an array, or this type itself.
    pub fn element(&self) -> TypeRef {
        TypeRef {
            name: self.name.clone(),
            array: false,
        }
    }

    /// Whether the type lives in `pg_catalog`.
    pub fn is_builtin(&self) -> bool {
        self.name.schema == "pg_catalog"
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_builtin() {
            f.write_str(&quote_ident_if_needed(&self.name.name))?;
        } else {
            write!(f, "{}", self.name)?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

impl From<TypeRef> for String {
    fn from(value: TypeRef) -> Self {
        value.to_string()
    }
}

impl FromStr for TypeRef {
    type Err = ParseNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (base, array) = match text.strip_suffix("[]") {
            Some(base) => (base, true),
            None => (text, false),
        };
        let name = match base.parse::<QualifiedName>() {
            Ok(name) => name,
            // A lone identifier is a pg_catalog type: reuse the qualified parser for quoting.
            Err(err) => match format!("pg_catalog.{base}").parse::<QualifiedName>() {
                Ok(name) => name,
                Err(_) => return Err(err),
            },
        };
        Ok(TypeRef { name, array })
    }
}

impl TryFrom<String> for TypeRef {
    type Error = ParseNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// What kind of relation a [`Relation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// An ordinary table.
    Table,
    /// The parent of a partitioned table (its partitions are not listed).
    PartitionedTable,
    /// A view (read-only for ormkit).
    View,
    /// A materialized view (read-only).
    MaterializedView,
}

impl RelationKind {
    /// Tables can be written; views cannot.
    pub const fn is_writable(self) -> bool {
        matches!(self, RelationKind::Table | RelationKind::PartitionedTable)
    }
}

/// A table, view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// Its qualified name.
    pub name: QualifiedName,
    /// Table, view, ….
    pub kind: RelationKind,
    /// `COMMENT ON TABLE`/`VIEW`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Columns in their table order.
    pub columns: Vec<Column>,
    /// The primary key, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Key>,
    /// Unique constraints, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Key>,
    /// Foreign keys, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Check constraints, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Indexes, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
}

impl Relation {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A column of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column's exact name.
    pub name: String,
    /// Its declared type (a domain stays a domain here; see [`SchemaModel::resolve`]).
    #[serde(rename = "type")]
    pub ty: TypeRef,
    /// Whether NULL can be stored: false under `NOT NULL`, a primary key, or a `NOT NULL`
    /// domain. View columns are always nullable.
    pub nullable: bool,
    /// The default expression, as PostgreSQL prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `GENERATED … AS IDENTITY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (…) STORED`: the expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// `COMMENT ON COLUMN`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Column {
    /// Whether an INSERT may leave this column out and get a value from the database.
    pub fn has_default(&self) -> bool {
        self.default.is_some() || self.identity == Some(Identity::ByDefault)
    }

    /// Whether the database refuses values for this column (identity ALWAYS, generated).
    pub fn is_read_only(&self) -> bool {
        self.identity == Some(Identity::Always) || self.generated.is_some()
    }
}

/// How an identity column generates values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// `GENERATED ALWAYS AS IDENTITY`: writes are refused.
    Always,
    /// `GENERATED BY DEFAULT AS IDENTITY`: a value may be given.
    ByDefault,
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The constraint's name.
    pub name: String,
    /// Its columns in key order.
    pub columns: Vec<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns, in key order.
    pub columns: Vec<String>,
    /// The referenced relation.
    pub references: QualifiedName,
    /// The referenced columns, paired with `columns`.
    pub referenced_columns: Vec<String>,
    /// `ON DELETE` action (`no action`, `cascade`, …).
    pub on_delete: String,
    /// `ON UPDATE` action.
    pub on_update: String,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The constraint's name.
    pub name: String,
    /// Its definition as PostgreSQL prints it (`CHECK (…)`).
    pub definition: String,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The index's name.
    pub name: String,
    /// Whether it enforces uniqueness.
    pub unique: bool,
    /// Whether it backs the primary key.
    pub primary: bool,
    /// `CREATE INDEX …` as PostgreSQL prints it.
    pub definition: String,
}

/// What a [`TypeRef`] names, once looked up in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeDef<'a> {
    /// A base type (built-in or from an extension, like `citext`).
    Base,
    /// An enum.
    Enum(&'a EnumType),
    /// A domain.
    Domain(&'a Domain),
    /// A composite type.
    Composite(&'a CompositeType),
    /// A range type.
    Range(&'a RangeType),
}

impl SchemaModel {
    /// Looks up what `name` is in this model; anything not found is a base type.
    pub fn type_def(&self, name: &QualifiedName) -> TypeDef<'_> {
        if let Some(e) = self.enums.iter().find(|e| &e.name == name) {
            TypeDef::Enum(e)
        } else if let Some(d) = self.domains.iter().find(|d| &d.name == name) {
            TypeDef::Domain(d)
        } else if let Some(c) = self.composites.iter().find(|c| &c.name == name) {
            TypeDef::Composite(c)
        } else if let Some(r) = self.ranges.iter().find(|r| &r.name == name) {
            TypeDef::Range(r)
        } else {
            TypeDef::Base
        }
    }

    /// Resolves domains down to their base type. Returns the resolved type and whether any
    /// domain on the way is `NOT NULL`. An array of a domain resolves to an array of its base.
    pub fn resolve(&self, ty: &TypeRef) -> (TypeRef, bool) {
        let mut current = ty.element();
        let mut not_null = false;
        // A domain chain is finite in PostgreSQL; the bound guards against a corrupt lock file.
        for _ in 0..64 {
            match self.type_def(&current.name) {
                TypeDef::Domain(d) => {
                    not_null |= d.not_null;
                    if d.base.array {
                        // A domain over an array: the array is the value.
                        return (d.base.clone(), not_null && !ty.array);
                    }
                    current = d.base.clone();
                }
                _ => break,
            }
        }
        let resolved = TypeRef {
            name: current.name,
            array: ty.array,
        };
        // Domain NOT NULL applies to the column's value, not to array elements.
        (resolved, not_null && !ty.array)
    }

    /// The relation called `name`.
    pub fn relation(&self, name: &QualifiedName) -> Option<&Relation> {
        self.relations.iter().find(|r| &r.name == name)
    }

    /// Puts every list in canonical order, so equal schemas serialize to equal bytes.
    pub fn canonicalize(&mut self) {
        self.schemas.sort();
        self.schemas.dedup();
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.domains.sort_by(|a, b| a.name.cmp(&b.name));
        for d in &mut self.domains {
            d.checks.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.composites.sort_by(|a, b| a.name.cmp(&b.name));
        self.ranges.sort_by(|a, b| a.name.cmp(&b.name));
        self.relations.sort_by(|a, b| a.name.cmp(&b.name));
        for r in &mut self.relations {
            r.unique.sort_by(|a, b| a.name.cmp(&b.name));
            r.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
            r.checks.sort_by(|a, b| a.name.cmp(&b.name));
            r.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
}
