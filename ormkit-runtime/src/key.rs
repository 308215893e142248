//! Keys as typed values: a primary key or a foreign key is a [`KeyValue`] (a typed ID, a
//! scalar, or a tuple of them), bound with its own SQL type, hashed and compared as itself,
//! and encoded for other processes in one stable, documented form.
//!
//! # The stable key encoding
//!
//! [`KeyValue::encode_key`] writes, for each part of the key in key order, a 4-byte
//! big-endian length followed by the part's PostgreSQL *binary send format* (the bytes a
//! binary `Bind` carries: an `int8` is 8 big-endian bytes, a `uuid` its 16 bytes, `text`
//! and enum labels their UTF-8 bytes); a NULL part is the length `-1` with no bytes. The
//! format is PostgreSQL's own wire format, so it does not depend on Rust's `Debug` or
//! `Display`, on the build, or on the ormkit version. The cache's cross-instance
//! notifications carry a hash of it (see [`cache`](crate::cache)).

use crate::entity::SqlValue;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgHasArrayType};
use sqlx::Arguments as _;
use std::fmt::Debug;
use std::hash::Hash;

/// A value that can be one part of a key: bound as a parameter or in an array of its type,
/// compared and hashed as itself. Implemented for the scalar types PostgreSQL keys use, for
/// typed IDs over them, and for generated enums.
pub trait KeyPart:
    SqlValue + PgHasArrayType + Clone + Eq + Hash + Send + Sync + Debug + 'static
{
}

macro_rules! key_parts {
    ($($t:ty),* $(,)?) => { $(impl KeyPart for $t {})* };
}
key_parts!(
    bool,
    i8,
    i16,
    i32,
    i64,
    String,
    Vec<u8>,
    rust_decimal::Decimal,
    uuid::Uuid,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::NaiveDateTime,
    chrono::DateTime<chrono::Utc>,
    time::Date,
    time::Time,
    time::PrimitiveDateTime,
    time::OffsetDateTime,
    ipnetwork::IpNetwork,
    sqlx::postgres::types::Oid,
);
impl<E: 'static, T: KeyPart> KeyPart for crate::Id<E, T> {}

/// A whole key: one [`KeyPart`] or a tuple of them, in key-column order.
pub trait KeyValue: Clone + Eq + Hash + Send + Sync + Debug + 'static {
    /// How many columns the key has.
    const ARITY: usize;
    /// Binds each part, in key order (`WHERE a = $1 AND b = $2`).
    fn bind_key(&self, args: &mut PgArguments) -> Result<(), BoxDynError>;
    /// Binds one array per part, holding that part of every key (`= ANY($1)` for one
    /// column, `unnest($1, $2)` for several).
    fn bind_arrays(keys: &[Self], args: &mut PgArguments) -> Result<(), BoxDynError>;
    /// Appends the [stable key encoding](self) of this key to `out`.
    fn encode_key(&self, out: &mut PgArgumentBuffer) -> Result<(), BoxDynError>;
}

fn encode_part<T: SqlValue>(part: &T, out: &mut PgArgumentBuffer) -> Result<(), BoxDynError> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    let len = match part.encode_by_ref(out)? {
        sqlx::encode::IsNull::Yes => {
            out.truncate(at + 4);
            -1
        }
        sqlx::encode::IsNull::No => i32::try_from(out.len() - at - 4)?,
    };
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

impl<T: KeyPart> KeyValue for T {
    const ARITY: usize = 1;

    fn bind_key(&self, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.add(self)
    }

    fn bind_arrays(keys: &[Self], args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.add(keys)
    }

    fn encode_key(&self, out: &mut PgArgumentBuffer) -> Result<(), BoxDynError> {
        encode_part(self, out)
    }
}

macro_rules! tuple_key {
    ($n:expr; $($name:ident: $i:tt),+) => {
        impl<$($name: KeyPart),+> KeyValue for ($($name,)+) {
            const ARITY: usize = $n;

            fn bind_key(&self, args: &mut PgArguments) -> Result<(), BoxDynError> {
                $(args.add(&self.$i)?;)+
                Ok(())
            }

            fn bind_arrays(keys: &[Self], args: &mut PgArguments) -> Result<(), BoxDynError> {
                $(args.add(keys.iter().map(|k| k.$i.clone()).collect::<Vec<$name>>())?;)+
                Ok(())
            }

            fn encode_key(&self, out: &mut PgArgumentBuffer) -> Result<(), BoxDynError> {
                $(encode_part(&self.$i, out)?;)+
                Ok(())
            }
        }
    };
}
tuple_key!(2; A: 0, B: 1);
tuple_key!(3; A: 0, B: 1, C: 2);
tuple_key!(4; A: 0, B: 1, C: 2, D: 3);

/// The stable encoding of `key`, as bytes.
#[cfg_attr(not(feature = "cache"), allow(dead_code))]
pub(crate) fn encoded<K: KeyValue>(key: &K) -> Result<Vec<u8>, BoxDynError> {
    let mut out = PgArgumentBuffer::default();
    key.encode_key(&mut out)?;
    Ok(std::mem::take(&mut *out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_as_postgresql_binary_parts() {
        assert_eq!(
            encoded(&42_i64).unwrap(),
            [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 42]
        );
        assert_eq!(
            encoded(&(7_i32, "ab".to_owned())).unwrap(),
            [0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 2, b'a', b'b']
        );
        let id = uuid::Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        let bytes = encoded(&id).unwrap();
        assert_eq!(&bytes[..4], &[0, 0, 0, 16]);
        assert_eq!(&bytes[4..], id.as_bytes());
        struct User;
        assert_eq!(
            encoded(&crate::Id::<User, i64>::new(42)).unwrap(),
            encoded(&42_i64).unwrap(),
            "a typed ID encodes as its value"
        );
    }
}
