//! Binary `COPY … FROM STDIN`: rows encoded with sqlx's own binary encoders, framed in
//! PostgreSQL's COPY binary format.
//!
//! sqlx leaves a zero where an array's element type or a record's field type is not a
//! built-in (it patches those OIDs only when binding parameters); COPY needs them filled, so
//! each column's type *shape* is read from the catalog once and the OIDs are written in.

use crate::db::Db;
use crate::entity::SqlValue;
use crate::entity::{ColumnWriter, InsertModel};
use crate::error::Result;
use crate::meta::EntityMeta;
use crate::statement::{One, Op, Statement, Subject};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgArguments};
use sqlx::{Arguments as _, Encode, PgConnection, Postgres};
use std::collections::HashMap;

/// The binary COPY header: signature, flags, header extension length.
pub(crate) const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The trailer: a field count of -1.
pub(crate) const TRAILER: &[u8] = &[0xff, 0xff];
/// How many bytes of rows the first piece of a COPY holds; each next piece holds twice as
/// many as the one before, up to [`LAST_PIECE`].
pub(crate) const FIRST_PIECE: usize = 16 << 10;
/// How many bytes of rows a piece holds at most.
pub(crate) const LAST_PIECE: usize = 512 << 10;

/// Where a value's binary form needs type OIDs filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Nothing to fill.
    Plain,
    /// An array: its element OID, and the elements' own shape.
    Array(u32, Box<Shape>),
    /// A record: each field's OID and shape.
    Record(Vec<(u32, Shape)>),
}

impl Shape {
    fn is_plain(&self) -> bool {
        matches!(self, Shape::Plain)
    }
}

/// Reads the shape of type `oid` from the catalog (domains resolve to their base type), for a
/// statement on `table` (the entity the look-ups' spans name).
pub(crate) async fn load_shape(
    conn: &mut PgConnection,
    table: &'static EntityMeta,
    oid: u32,
) -> Result<Shape> {
    let mut cache = HashMap::new();
    load(&Db::from(conn), table, oid, &mut cache, 0).await
}

fn load<'a>(
    db: &'a Db<'_>,
    table: &'static EntityMeta,
    oid: u32,
    cache: &'a mut HashMap<u32, Shape>,
    depth: u32,
) -> futures::future::BoxFuture<'a, Result<Shape>> {
    Box::pin(async move {
        if let Some(shape) = cache.get(&oid) {
            return Ok(shape.clone());
        }
        if depth > 16 {
            return Ok(Shape::Plain);
        }
        let mut args = PgArguments::default();
        args.add(i64::from(oid)).map_err(encode_err)?;
        let One((typtype, elem, base, relid)): One<(String, i64, i64, i64)> = db
            .run(Statement {
                sql: "SELECT t.typtype::text, CASE WHEN t.typcategory = 'A' THEN t.typelem::int8 ELSE 0 END,
                             t.typbasetype::int8, t.typrelid::int8
                      FROM pg_catalog.pg_type t WHERE t.oid = $1::int8::oid"
                    .into(),
                args,
                table: Subject::Entity(table),
                op: Op::Catalog,
            })
            .await?;
        let shape = if typtype == "d" {
            load(db, table, base as u32, cache, depth + 1).await?
        } else if elem != 0 {
            let inner = load(db, table, elem as u32, cache, depth + 1).await?;
            Shape::Array(elem as u32, Box::new(inner))
        } else if typtype == "c" {
            let mut args = PgArguments::default();
            args.add(relid).map_err(encode_err)?;
            let fields: Vec<(i64,)> = db
                .run(Statement {
                    sql: "SELECT a.atttypid::int8 FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped
                          ORDER BY a.attnum"
                        .into(),
                    args,
                    table: Subject::Entity(table),
                    op: Op::Catalog,
                })
                .await?;
            let mut out = Vec::with_capacity(fields.len());
            for (f,) in fields {
                out.push((f as u32, load(db, table, f as u32, cache, depth + 1).await?));
            }
            Shape::Record(out)
        } else {
            Shape::Plain
        };
        cache.insert(oid, shape.clone());
        Ok(shape)
    })
}

fn encode_err(source: BoxDynError) -> crate::OrmkitError {
    crate::OrmkitError::Encode {
        table: "pg_catalog.pg_type".into(),
        source,
    }
}

/// Writes the OIDs `shape` calls for into a value's binary form.
fn patch(bytes: &mut [u8], shape: &Shape) -> std::result::Result<(), BoxDynError> {
    let read_i32 = |b: &[u8], at: usize| -> std::result::Result<i32, BoxDynError> {
        let slice = b
            .get(at..at + 4)
            .ok_or("binary value shorter than its header")?;
        Ok(i32::from_be_bytes(slice.try_into()?))
    };
    match shape {
        Shape::Plain => Ok(()),
        Shape::Array(elem_oid, elem_shape) => {
            let ndim = read_i32(bytes, 0)?.max(0) as usize;
            bytes
                .get_mut(8..12)
                .ok_or("array header too short")?
                .copy_from_slice(&elem_oid.to_be_bytes());
            if elem_shape.is_plain() {
                return Ok(());
            }
            let mut count = if ndim == 0 { 0 } else { 1usize };
            for d in 0..ndim {
                count *= read_i32(bytes, 12 + d * 8)?.max(0) as usize;
            }
            let mut at = 12 + ndim * 8;
            for _ in 0..count {
                let len = read_i32(bytes, at)?;
                at += 4;
                if len >= 0 {
                    let end = at + len as usize;
                    patch(
                        bytes.get_mut(at..end).ok_or("array element overruns")?,
                        elem_shape,
                    )?;
                    at = end;
                }
            }
            Ok(())
        }
        Shape::Record(fields) => {
            let mut at = 4;
            for (oid, field_shape) in fields {
                bytes
                    .get_mut(at..at + 4)
                    .ok_or("record too short")?
                    .copy_from_slice(&oid.to_be_bytes());
                let len = read_i32(bytes, at + 4)?;
                at += 8;
                if len >= 0 {
                    let end = at + len as usize;
                    patch(
                        bytes.get_mut(at..end).ok_or("record field overruns")?,
                        field_shape,
                    )?;
                    at = end;
                }
            }
            Ok(())
        }
    }
}

/// Rows in COPY binary format, filled by insert models through [`ColumnWriter`]. Values
/// are encoded straight into the outgoing buffer, which is sent in pieces while encoding
/// goes on.
#[derive(Debug)]
pub(crate) struct CopyRows<'c> {
    data: PgArgumentBuffer,
    /// The COPY's columns (indexes into the entity's columns) and their shapes.
    columns: &'c [u16],
    shapes: Vec<Shape>,
    column: usize,
}

impl<'c> CopyRows<'c> {
    pub(crate) fn new(columns: &'c [u16], shapes: Vec<Shape>) -> Self {
        let mut data = PgArgumentBuffer::default();
        data.reserve(FIRST_PIECE * 2);
        data.extend_from_slice(HEADER);
        CopyRows {
            data,
            columns,
            shapes,
            column: 0,
        }
    }

    /// Encodes one row: its field count, then every column `row` sets, which must be
    /// exactly the statement's columns.
    pub(crate) fn push_row<I: InsertModel>(&mut self, row: &I) -> Result<(), BoxDynError> {
        let n = i16::try_from(self.shapes.len())?;
        self.data.extend_from_slice(&n.to_be_bytes());
        self.column = 0;
        row.write(self)?;
        if self.column != self.columns.len() {
            return Err("a row sets other columns than its COPY statement".into());
        }
        Ok(())
    }

    /// Bytes ready to send.
    pub(crate) fn buffered(&self) -> usize {
        self.data.len()
    }

    /// Takes the bytes encoded so far, leaving `spare` (an empty buffer, whose capacity is
    /// kept) for more rows.
    pub(crate) fn take(&mut self, spare: Vec<u8>) -> Vec<u8> {
        std::mem::replace(&mut *self.data, spare)
    }

    /// The rest of the COPY data, with its trailer.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.data.extend_from_slice(TRAILER);
        std::mem::take(&mut *self.data)
    }
}

impl ColumnWriter for CopyRows<'_> {
    fn set<T: SqlValue>(&mut self, column: usize, value: &T) -> Result<(), BoxDynError> {
        if self.columns.get(self.column).map(|&c| usize::from(c)) != Some(column) {
            return Err("a row sets other columns than its COPY statement".into());
        }
        let shape = &self.shapes[self.column];
        self.column += 1;
        write_field(&mut self.data, value, shape)?;
        Ok(())
    }
}

/// Appends `value` as a length-prefixed binary field (length -1 for NULL), encoded in place
/// with sqlx's encoder and its OIDs patched per `shape`; whether it was NULL. The framing of
/// COPY fields and of array elements alike.
pub(crate) fn write_field<T>(
    buf: &mut PgArgumentBuffer,
    value: &T,
    shape: &Shape,
) -> std::result::Result<bool, BoxDynError>
where
    T: for<'q> Encode<'q, Postgres>,
{
    // Length placeholder, then the value encoded in place.
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    match value.encode_by_ref(buf)? {
        IsNull::Yes => {
            buf.truncate(at);
            buf.extend_from_slice(&(-1_i32).to_be_bytes());
            Ok(true)
        }
        IsNull::No => {
            let start = at + 4;
            patch(&mut buf[start..], shape)?;
            let len = i32::try_from(buf.len() - start)?;
            buf[at..start].copy_from_slice(&len.to_be_bytes());
            Ok(false)
        }
    }
}
