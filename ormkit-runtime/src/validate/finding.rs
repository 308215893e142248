//! [`Finding`]s — each difference between the expected and the live schema — and the
//! [`ValidationReport`] that lists them all.

use std::fmt;

use ormkit_schema::QualifiedName;

use super::error::ValidationError;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The code keeps working (e.g. a column it does not know, which inserts can leave out).
    Warning,
    /// The code would fail: queries, decoding or inserts break.
    Error,
}

/// One difference between the schema the code expects and the live database.
///
/// Serialized (for `ormkit-cli validate --json`) as an object whose `finding` is the variant's
/// name in snake case (`type_mismatch`) beside the variant's fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finding {
    /// A table or view the code uses does not exist.
    TableNotFound {
        /// The relation.
        table: QualifiedName,
    },
    /// A column the code reads or writes does not exist.
    ColumnNotFound {
        /// The relation.
        table: QualifiedName,
        /// The column.
        column: String,
    },
    /// A column has another type than the code expects (`expected`/`actual` as the lock
    /// writes types: `int4`, `text[]`, `public.mood`).
    TypeMismatch {
        /// The relation.
        table: QualifiedName,
        /// The column.
        column: String,
        /// The type the code was generated for.
        expected: String,
        /// The type in the database.
        actual: String,
    },
    /// A column's nullability differs: a nullable column read into a non-`Option` field
    /// fails on NULL; a NOT NULL column the code thinks optional refuses its NULLs.
    NullabilityMismatch {
        /// The relation.
        table: QualifiedName,
        /// The column.
        column: String,
        /// Whether the code expects NULLs.
        expected_nullable: bool,
        /// Whether the database allows NULLs.
        actual_nullable: bool,
    },
    /// The primary key has other columns (empty: no primary key).
    PrimaryKeyMismatch {
        /// The relation.
        table: QualifiedName,
        /// The key the code expects, in key order.
        expected: Vec<String>,
        /// The key in the database.
        actual: Vec<String>,
    },
    /// An enum's labels differ (values, order or case).
    EnumLabelsMismatch {
        /// The enum type.
        name: QualifiedName,
        /// The labels the code knows, in order.
        expected: Vec<String>,
        /// The labels in the database.
        actual: Vec<String>,
    },
    /// A type the code uses (enum, domain, composite) does not exist.
    TypeNotFound {
        /// The type.
        name: QualifiedName,
        /// `enum`, `domain` or `composite type`.
        kind: &'static str,
    },
    /// A composite type's fields (name and type, in order) or a domain's base type and NOT
    /// NULL differ.
    TypeDefinitionMismatch {
        /// The type.
        name: QualifiedName,
        /// The definition the code expects, e.g. `(street text, city text)` or
        /// `citext NOT NULL`.
        expected: String,
        /// The definition in the database.
        actual: String,
    },
    /// A column the code does not know. A warning when inserts can leave it out (nullable,
    /// defaulted, identity, generated — or the relation is a view); an error when it is NOT
    /// NULL without a default in a table, since every insert from this code would fail.
    MissingColumnInEntity {
        /// The relation.
        table: QualifiedName,
        /// The column.
        column: String,
        /// Its type.
        actual: String,
        /// Whether inserts from this code fail because of it.
        breaks_inserts: bool,
    },
    /// A checked query no longer prepares on the database.
    QueryFails {
        /// `file: name` of the query.
        query: String,
        /// PostgreSQL's SQLSTATE (`42703`: a column it uses is gone).
        sqlstate: String,
        /// PostgreSQL's message.
        message: String,
    },
    /// A checked query's parameter has another type than its generated function binds
    /// (`actual` is `absent` when the query has fewer parameters now).
    QueryParamMismatch {
        /// `file: name` of the query.
        query: String,
        /// The parameter's number (`$n`).
        param: usize,
        /// The type the function was generated for.
        expected: String,
        /// The type PostgreSQL describes now.
        actual: String,
    },
    /// A checked query's result column differs from its generated row field: another name or
    /// type, or a column more or less (`expected`/`actual` as `name type`, or `absent`).
    QueryColumnMismatch {
        /// `file: name` of the query.
        query: String,
        /// The column's position, from 1.
        position: usize,
        /// The column the row was generated for.
        expected: String,
        /// The column PostgreSQL describes now.
        actual: String,
    },
    /// A checked query's column is read into a non-`Option` field, but the table column it
    /// reads is nullable now.
    QueryColumnNullable {
        /// `file: name` of the query.
        query: String,
        /// The result column.
        column: String,
        /// The table column it reads (`schema.table.column`).
        origin: String,
    },
}

impl Finding {
    /// Whether the code would fail because of this difference.
    pub fn severity(&self) -> Severity {
        match self {
            Finding::MissingColumnInEntity { breaks_inserts, .. } if !breaks_inserts => {
                Severity::Warning
            }
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::TableNotFound { table } => write!(f, "{table}: table not found"),
            Finding::ColumnNotFound { table, column } => {
                write!(f, "{table}: column {column:?} not found")
            }
            Finding::TypeMismatch {
                table,
                column,
                expected,
                actual,
            } => write!(
                f,
                "{table}: column {column:?} has type {actual}, expected {expected}"
            ),
            Finding::NullabilityMismatch {
                table,
                column,
                expected_nullable,
                ..
            } => {
                let (actual, expected) = match expected_nullable {
                    true => ("NOT NULL", "nullable"),
                    false => ("nullable", "NOT NULL"),
                };
                write!(
                    f,
                    "{table}: column {column:?} is {actual}, expected {expected}"
                )
            }
            Finding::PrimaryKeyMismatch {
                table,
                expected,
                actual,
            } => write!(
                f,
                "{table}: primary key is {}, expected {}",
                key(actual),
                key(expected)
            ),
            Finding::EnumLabelsMismatch {
                name,
                expected,
                actual,
            } => write!(
                f,
                "enum {name}: labels are {}, expected {}",
                labels(actual),
                labels(expected)
            ),
            Finding::TypeNotFound { name, kind } => write!(f, "{kind} {name} not found"),
            Finding::TypeDefinitionMismatch {
                name,
                expected,
                actual,
            } => {
                write!(f, "type {name} is {actual}, expected {expected}")
            }
            Finding::MissingColumnInEntity {
                table,
                column,
                actual,
                breaks_inserts,
            } => {
                write!(
                    f,
                    "{table}: column {column:?} ({actual}) is not known to the code"
                )?;
                match breaks_inserts {
                    true => f.write_str("; it is NOT NULL without a default, so inserts fail"),
                    false => Ok(()),
                }
            }
            Finding::QueryFails {
                query,
                sqlstate,
                message,
            } => write!(
                f,
                "query {query}: does not prepare: {message} (SQLSTATE {sqlstate})"
            ),
            Finding::QueryParamMismatch {
                query,
                param,
                expected,
                actual,
            } => write!(
                f,
                "query {query}: parameter ${param} has type {actual}, expected {expected}"
            ),
            Finding::QueryColumnMismatch {
                query,
                position,
                expected,
                actual,
            } => write!(
                f,
                "query {query}: result column {position} is {actual}, expected {expected}"
            ),
            Finding::QueryColumnNullable {
                query,
                column,
                origin,
            } => write!(
                f,
                "query {query}: column {column:?} reads {origin}, which is nullable now, \
                 into a field that is not an Option"
            ),
        }
    }
}

fn key(columns: &[String]) -> String {
    match columns.is_empty() {
        true => "absent".to_owned(),
        false => format!("({})", columns.join(", ")),
    }
}

fn labels(labels: &[String]) -> String {
    let quoted: Vec<String> = labels
        .iter()
        .map(|l| format!("'{}'", l.replace('\'', "''")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// Every difference found, errors first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// The findings, errors before warnings, each group in schema order.
    pub findings: Vec<Finding>,
}

impl ValidationReport {
    pub(crate) fn new(mut findings: Vec<Finding>) -> Self {
        // Stable: keeps schema order within each severity.
        findings.sort_by_key(|finding| std::cmp::Reverse(finding.severity()));
        ValidationReport { findings }
    }

    /// Whether no finding is an error (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The error-level findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity() == Severity::Error)
    }

    /// The warning-level findings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity() == Severity::Warning)
    }

    /// `Ok(self)` without errors, else [`ValidationError::Drift`] with the report.
    ///
    /// # Errors
    ///
    /// [`ValidationError::Drift`] when a finding is an error.
    pub fn into_result(self) -> Result<Self, ValidationError> {
        match self.is_ok() {
            true => Ok(self),
            false => Err(ValidationError::Drift(Box::new(self))),
        }
    }
}

/// One finding per line (`error: …`, `warning: …`), then a count.
impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            let level = match finding.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            writeln!(f, "{level}: {finding}")?;
        }
        let (errors, warnings) = (self.errors().count(), self.warnings().count());
        match (errors, warnings) {
            (0, 0) => write!(f, "the database matches the expected schema"),
            _ => write!(f, "{errors} error(s), {warnings} warning(s)"),
        }
    }
}
