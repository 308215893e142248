//! `INSERT … SELECT * FROM unnest($1::t1[], $2::t2[], …) [ON CONFLICT …] RETURNING …`: many
//! rows in one statement with one parameter per *column*, so the statement is the same for
//! every chunk size (one prepared plan) and the 65 535-parameter limit never applies.
//!
//! Each value is encoded with sqlx's own binary encoder (type OIDs patched as for COPY) into
//! its column's one-dimensional array; the array parameters are sent with an unspecified type
//! and typed by the cast in the statement. `unnest` flattens nested arrays, so a column that
//! is itself an array cannot travel this way: such rows use a multi-row `VALUES` statement.

use super::copy::{load_shape, write_field, Shape};
use crate::entity::{Entity, ValueSink};
use crate::ident::quote_ident;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::{Encode, PgConnection, Postgres, Type};
use std::fmt::Write as _;
use std::marker::PhantomData;

/// What to do when a row conflicts with a unique constraint, for
/// [`ParallelExecutor::bulk_upsert`](super::ParallelExecutor::bulk_upsert). Built from the
/// entity's typed columns, so a target or an updated column of another table does not
/// compile.
///
/// ```ignore
/// // INSERT … ON CONFLICT ("email") DO UPDATE SET "display_name" = EXCLUDED."display_name"
/// let conflict = OnConflict::on(users::EMAIL).do_update(users::DISPLAY_NAME);
/// // INSERT … ON CONFLICT ("email") DO NOTHING
/// let conflict = OnConflict::on(users::EMAIL).do_nothing();
/// ```
#[derive(Debug, Clone)]
pub struct OnConflict<E> {
    target: Vec<&'static str>,
    update: Vec<&'static str>,
    _entity: PhantomData<fn() -> E>,
}

impl<E: Entity> OnConflict<E> {
    /// Conflicts on the unique constraint or index over `column` (add more with
    /// [`and`](Self::and)).
    pub fn on<T, A>(column: crate::Column<E, T, A>) -> Self {
        OnConflict {
            target: vec![column.name()],
            update: Vec::new(),
            _entity: PhantomData,
        }
    }

    /// Another column of the conflict target.
    pub fn and<T, A>(mut self, column: crate::Column<E, T, A>) -> Self {
        self.target.push(column.name());
        self
    }

    /// Skips conflicting rows: they are neither written nor returned.
    pub fn do_nothing(mut self) -> Self {
        self.update.clear();
        self
    }

    /// On conflict, sets `column` to the proposed row's value (`EXCLUDED`); call once per
    /// column. Only writable columns can be named.
    pub fn do_update<T>(mut self, column: crate::Column<E, T, crate::Writable>) -> Self {
        self.update.push(column.name());
        self
    }

    /// The clause, quoted: ` ON CONFLICT ("a", "b") DO NOTHING | DO UPDATE SET …`.
    pub(crate) fn clause(&self) -> String {
        let target: Vec<String> = self.target.iter().map(|c| quote_ident(c)).collect();
        let mut sql = format!(" ON CONFLICT ({})", target.join(", "));
        if self.update.is_empty() {
            sql.push_str(" DO NOTHING");
        } else {
            let set: Vec<String> = self
                .update
                .iter()
                .map(|c| {
                    let c = quote_ident(c);
                    format!("{c} = EXCLUDED.{c}")
                })
                .collect();
            let _ = write!(sql, " DO UPDATE SET {}", set.join(", "));
        }
        sql
    }
}

/// A written column's type, from the catalog.
#[derive(Debug, Clone)]
pub(crate) struct ColumnType {
    /// The type's qualified, quoted internal name, without a type modifier.
    cast: String,
    oid: u32,
    shape: Shape,
    /// Whether the column's type is an array (which `unnest` would flatten).
    pub(crate) is_array: bool,
}

/// The types of `columns` of `table` (a quoted, qualified name), in order.
pub(crate) async fn column_types(
    conn: &mut PgConnection,
    table: &str,
    columns: &[&'static str],
) -> Result<Vec<ColumnType>, sqlx::Error> {
    // The cast names the type by schema and internal name (`pg_catalog.bpchar`), never by
    // its SQL spelling, whose bare form can carry a modifier (`character` is `character(1)`).
    let rows: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT a.atttypid::int8, format('%I.%I', n.nspname, t.typname), t.typcategory = 'A'
         FROM unnest($2::text[]) WITH ORDINALITY AS c(name, ord)
         JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::regclass AND a.attname = c.name
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         ORDER BY c.ord",
    )
    .bind(table)
    .bind(columns.iter().map(|c| c.to_string()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (oid, cast, is_array) in rows {
        let oid = oid as u32;
        out.push(ColumnType {
            cast,
            oid,
            shape: load_shape(conn, oid).await?,
            is_array,
        });
    }
    Ok(out)
}

/// `INSERT INTO table (columns) SELECT * FROM unnest($1::t1[], …){conflict} RETURNING …`.
pub(crate) fn insert_sql<T: Entity>(
    columns: &[&'static str],
    types: &[ColumnType],
    conflict: &str,
) -> String {
    let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{}[]", i + 1, t.cast))
        .collect();
    format!(
        "INSERT INTO {} ({}) SELECT * FROM unnest({}){conflict} RETURNING {}",
        T::META.qualified,
        list.join(", "),
        arrays.join(", "),
        T::META.select_list
    )
}

/// One column's values as a one-dimensional PostgreSQL array in binary form.
#[derive(Debug)]
struct ArrayBuf {
    elem_oid: u32,
    shape: Shape,
    /// The elements: each a length (or -1 for NULL) and its bytes.
    elements: PgArgumentBuffer,
    len: i32,
    has_null: bool,
}

/// Insert models' values gathered per column, filled through [`ValueSink`].
#[derive(Debug)]
pub(crate) struct ColumnArrays {
    arrays: Vec<ArrayBuf>,
    column: usize,
}

impl ColumnArrays {
    pub(crate) fn new(types: &[ColumnType]) -> Self {
        ColumnArrays {
            arrays: types
                .iter()
                .map(|t| ArrayBuf {
                    elem_oid: t.oid,
                    shape: t.shape.clone(),
                    elements: PgArgumentBuffer::default(),
                    len: 0,
                    has_null: false,
                })
                .collect(),
            column: 0,
        }
    }

    /// Starts the next row.
    pub(crate) fn begin_row(&mut self) {
        self.column = 0;
    }

    /// The arrays, ready to bind in column order.
    pub(crate) fn into_params(self) -> Vec<RawArray> {
        self.arrays
            .into_iter()
            .map(|a| {
                let mut bytes = Vec::with_capacity(20 + a.elements.len());
                bytes.extend_from_slice(&1_i32.to_be_bytes()); // dimensions
                bytes.extend_from_slice(&i32::from(a.has_null).to_be_bytes());
                bytes.extend_from_slice(&a.elem_oid.to_be_bytes());
                bytes.extend_from_slice(&a.len.to_be_bytes()); // length of the dimension
                bytes.extend_from_slice(&1_i32.to_be_bytes()); // lower bound
                bytes.extend_from_slice(&a.elements);
                RawArray(bytes)
            })
            .collect()
    }
}

impl ValueSink for ColumnArrays {
    fn add_value<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send + 'static,
    {
        let array = self
            .arrays
            .get_mut(self.column)
            .ok_or("more values than columns")?;
        self.column += 1;
        array.len = array
            .len
            .checked_add(1)
            .ok_or("too many rows for an array")?;
        if write_field(&mut array.elements, value, &array.shape)? {
            array.has_null = true;
        }
        Ok(())
    }
}

/// An array parameter already in binary form, sent with an unspecified type: the cast in the
/// statement (`$1::t[]`) gives it its type, which its header's element OID matches.
#[derive(Debug)]
pub(crate) struct RawArray(Vec<u8>);

impl Type<Postgres> for RawArray {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl Encode<'_, Postgres> for RawArray {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        buf.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }
}
