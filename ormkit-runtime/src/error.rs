//! [`OrmkitError`]: the one error type of the runtime.

/// Everything that can go wrong in an ormkit call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrmkitError {
    /// The database (or the connection to it) failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A row that had to exist does not.
    #[error("{table}: no row with key {key}")]
    EntityNotFound {
        /// `schema.table`.
        table: String,
        /// The key looked for, as Debug prints it.
        key: String,
    },
    /// A value could not be bound as a parameter.
    #[error("{table}: could not bind a value: {source}")]
    Encode {
        /// `schema.table`.
        table: String,
        /// What the encoder said.
        #[source]
        source: sqlx::error::BoxDynError,
    },
    /// An update was asked to write nothing.
    #[error("{table}: the patch for key {key} sets no column; nothing was written")]
    EmptyPatch {
        /// `schema.table`.
        table: String,
        /// The key of the row.
        key: String,
    },
}

impl OrmkitError {
    /// The SQLSTATE of a database error, if any.
    pub fn sqlstate(&self) -> Option<String> {
        match self {
            OrmkitError::Database(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
            _ => None,
        }
    }
}

/// `Result` with [`OrmkitError`].
pub type Result<T, E = OrmkitError> = std::result::Result<T, E>;
