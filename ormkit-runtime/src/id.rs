//! Typed primary keys: `UserId` is `Id<User, i64>`, so a `PostId` where a `UserId` is
//! expected does not compile, while on the wire it is just the `int8` it wraps.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// The primary key of entity `E`, stored as `T`.
#[repr(transparent)]
pub struct Id<E, T> {
    value: T,
    _entity: PhantomData<fn() -> E>,
}

impl<E, T> Id<E, T> {
    /// Wraps a raw key value.
    pub const fn new(value: T) -> Self {
        Id {
            value,
            _entity: PhantomData,
        }
    }

    /// The raw key value.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// Unwraps the raw key value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<E, T> From<T> for Id<E, T> {
    fn from(value: T) -> Self {
        Id::new(value)
    }
}

impl<E, T: Clone> Clone for Id<E, T> {
    fn clone(&self) -> Self {
        Id::new(self.value.clone())
    }
}

impl<E, T: Copy> Copy for Id<E, T> {}

impl<E, T: PartialEq> PartialEq for Id<E, T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<E, T: Eq> Eq for Id<E, T> {}

impl<E, T: PartialOrd> PartialOrd for Id<E, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<E, T: Ord> Ord for Id<E, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<E, T: Hash> Hash for Id<E, T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<E, T: fmt::Debug> fmt::Debug for Id<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entity = std::any::type_name::<E>();
        let short = entity.rsplit("::").next().unwrap_or(entity);
        write!(f, "{short}Id({:?})", self.value)
    }
}

impl<E, T: fmt::Display> fmt::Display for Id<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<E, T: serde::Serialize> serde::Serialize for Id<E, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, E, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Id<E, T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Id::new)
    }
}

impl<E, T: Type<Postgres>> Type<Postgres> for Id<E, T> {
    fn type_info() -> PgTypeInfo {
        T::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        T::compatible(ty)
    }
}

impl<E, T: PgHasArrayType> PgHasArrayType for Id<E, T> {
    fn array_type_info() -> PgTypeInfo {
        T::array_type_info()
    }

    fn array_compatible(ty: &PgTypeInfo) -> bool {
        T::array_compatible(ty)
    }
}

impl<'q, E, T: Encode<'q, Postgres>> Encode<'q, Postgres> for Id<E, T> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        self.value.encode_by_ref(buf)
    }

    fn size_hint(&self) -> usize {
        self.value.size_hint()
    }
}

impl<'r, E, T: Decode<'r, Postgres>> Decode<'r, Postgres> for Id<E, T> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        T::decode(value).map(Id::new)
    }
}
