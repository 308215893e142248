//! `INSERT … SELECT * FROM unnest($1::t1[], $2::t2[], …) [ON CONFLICT …] RETURNING …`: many
//! rows in one statement with one parameter per *column*, so the statement is the same for
//! every chunk size (one prepared plan) and the 65 535-parameter limit never applies.
//!
//! Each value is encoded with sqlx's own binary encoder (type OIDs patched as for COPY) into
//! its column's one-dimensional array; the array parameters are sent with an unspecified type
//! and typed by the cast in the statement. `unnest` flattens nested arrays, so a column that
//! is itself an array cannot travel this way: such rows use a multi-row `VALUES` statement.

use super::copy::{load_shape, write_field, Shape};
use crate::db::Db;
use crate::entity::SqlValue;
use crate::entity::{ColumnWriter, Entity, InsertModel};
use crate::error::Result;
use crate::statement::{self, Op, Statement, Subject};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgTypeInfo};
use sqlx::{Arguments as _, Encode, PgConnection, Postgres, Type};

/// A written column's type, from the catalog.
#[derive(Debug, Clone)]
pub(crate) struct ColumnType {
    /// The type's qualified, quoted internal name, without a type modifier.
    cast: String,
    oid: u32,
    shape: Shape,
    /// Whether the column's type is an array (which `unnest` would flatten).
    pub(crate) is_array: bool,
    /// Whether the column is text-form (sent as text; binary COPY cannot take it).
    pub(crate) text_form: bool,
}

/// `pg_catalog.text`.
const TEXT_OID: u32 = 25;

impl ColumnType {
    /// Where its values' binary form needs OIDs filled in.
    pub(crate) fn into_shape(self) -> Shape {
        self.shape
    }
}

/// The types of `columns` of `T`'s table, in order.
pub(crate) async fn column_types<T: Entity>(
    conn: &mut PgConnection,
    columns: &[u16],
) -> Result<Vec<ColumnType>> {
    // The cast names the type by schema and internal name (`pg_catalog.bpchar`), never by
    // its SQL spelling, whose bare form can carry a modifier (`character` is `character(1)`).
    let mut args = PgArguments::default();
    let names: Vec<&str> = columns
        .iter()
        .map(|&c| T::META.columns[usize::from(c)].name)
        .collect();
    args.add(T::META.qualified())
        .map_err(crate::repository::encode_err::<T>)?;
    args.add(names)
        .map_err(crate::repository::encode_err::<T>)?;
    let rows: Vec<(i64, String, bool)> = Db::from(&mut *conn)
        .run(Statement {
            sql:
                "SELECT a.atttypid::int8, format('%I.%I', n.nspname, t.typname), t.typcategory = 'A'
                  FROM unnest($2::text[]) WITH ORDINALITY AS c(name, ord)
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::regclass AND a.attname = c.name
                  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                  ORDER BY c.ord"
                    .into(),
            args,
            table: Subject::Entity(T::META),
            op: Op::Catalog,
        })
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for ((oid, cast, is_array), &c) in rows.into_iter().zip(columns) {
        if T::META.columns[usize::from(c)].text_form {
            // Sent as text, and cast to its type by the statement.
            out.push(ColumnType {
                cast: "pg_catalog.text".into(),
                oid: TEXT_OID,
                shape: Shape::Plain,
                is_array,
                text_form: true,
            });
            continue;
        }
        let oid = oid as u32;
        out.push(ColumnType {
            cast,
            oid,
            shape: load_shape(conn, T::META, oid).await?,
            is_array,
            text_form: false,
        });
    }
    Ok(out)
}

/// `INSERT INTO table (columns) SELECT * FROM unnest($1::t1[], …){conflict} RETURNING …`.
pub(crate) fn insert_sql<T: Entity>(
    columns: &[u16],
    types: &[ColumnType],
    conflict: &str,
    returning: bool,
) -> String {
    let casts: Vec<&str> = types.iter().map(|t| t.cast.as_str()).collect();
    statement::insert_unnest(T::META, columns, &casts, conflict, returning)
}

/// The parameters of an unnest insert of `rows` (which set `columns`, of `types`): one binary
/// array per column.
pub(crate) fn arguments<T: Entity + crate::entity::Table>(
    rows: &[T::Insert],
    columns: &[u16],
    types: &[ColumnType],
) -> Result<PgArguments> {
    let encode = crate::repository::encode_err::<T>;
    let mut arrays = ColumnArrays::new(columns, types);
    for row in rows {
        arrays.push_row(row).map_err(encode)?;
    }
    let mut args = PgArguments::default();
    for param in arrays.into_params() {
        args.add(param).map_err(encode)?;
    }
    Ok(args)
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

/// Insert models' values gathered per column, filled through [`ColumnWriter`].
#[derive(Debug)]
pub(crate) struct ColumnArrays<'c> {
    columns: &'c [u16],
    arrays: Vec<ArrayBuf>,
    column: usize,
}

impl<'c> ColumnArrays<'c> {
    pub(crate) fn new(columns: &'c [u16], types: &[ColumnType]) -> Self {
        ColumnArrays {
            columns,
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

    /// Adds one row's values, which must set exactly the statement's columns.
    pub(crate) fn push_row<I: InsertModel>(&mut self, row: &I) -> Result<(), BoxDynError> {
        self.column = 0;
        row.write(self)?;
        if self.column != self.columns.len() {
            return Err("a row sets other columns than its statement".into());
        }
        Ok(())
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

impl ColumnWriter for ColumnArrays<'_> {
    fn set<T: SqlValue>(&mut self, column: usize, value: &T) -> Result<(), BoxDynError> {
        if self.columns.get(self.column).map(|&c| usize::from(c)) != Some(column) {
            return Err("a row sets other columns than its statement".into());
        }
        let array = &mut self.arrays[self.column];
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
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> std::result::Result<IsNull, BoxDynError> {
        buf.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }
}
