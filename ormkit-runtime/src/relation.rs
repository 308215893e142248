//! Relations from foreign keys: `posts::AUTHOR` is a `BelongsTo<Post, User>`, `users::POSTS`
//! a `HasMany<User, Post>`. Both load a whole result set's related rows in one query
//! (`= ANY($1)`, or `unnest` for composite keys), so 1000 users with their posts cost two
//! queries, not 1001.

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use crate::meta::ForeignKeyMeta;
use std::fmt;
use std::marker::PhantomData;

/// A key as text, one part per column: how related rows are matched in memory and bound.
pub type KeyText = Vec<String>;

/// `From` holds a foreign key to `To`: each `From` row belongs to at most one `To`.
pub struct BelongsTo<From, To> {
    pub(crate) foreign_key: &'static ForeignKeyMeta,
    pub(crate) from_key: fn(&From) -> Option<KeyText>,
    pub(crate) to_key: fn(&To) -> KeyText,
    _marker: PhantomData<fn() -> (From, To)>,
}

/// `To` holds a foreign key to `From`: each `From` row has any number of `To` rows.
pub struct HasMany<From, To> {
    pub(crate) foreign_key: &'static ForeignKeyMeta,
    pub(crate) parent_key: fn(&From) -> KeyText,
    pub(crate) child_key: fn(&To) -> Option<KeyText>,
    _marker: PhantomData<fn() -> (From, To)>,
}

impl<From, To> BelongsTo<From, To> {
    /// The relation through `foreign_key` (declared on `From`); the functions give each side's
    /// key as text. Generated code calls this.
    pub const fn new(
        foreign_key: &'static ForeignKeyMeta,
        from_key: fn(&From) -> Option<KeyText>,
        to_key: fn(&To) -> KeyText,
    ) -> Self {
        BelongsTo {
            foreign_key,
            from_key,
            to_key,
            _marker: PhantomData,
        }
    }

    /// The foreign key behind the relation.
    pub const fn foreign_key(&self) -> &'static ForeignKeyMeta {
        self.foreign_key
    }
}

impl<From, To> HasMany<From, To> {
    /// The relation through `foreign_key` (declared on `To`). Generated code calls this.
    pub const fn new(
        foreign_key: &'static ForeignKeyMeta,
        parent_key: fn(&From) -> KeyText,
        child_key: fn(&To) -> Option<KeyText>,
    ) -> Self {
        HasMany {
            foreign_key,
            parent_key,
            child_key,
            _marker: PhantomData,
        }
    }

    /// The foreign key behind the relation.
    pub const fn foreign_key(&self) -> &'static ForeignKeyMeta {
        self.foreign_key
    }
}

macro_rules! copy_debug {
    ($name:ident) => {
        impl<From, To> Clone for $name<From, To> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<From, To> Copy for $name<From, To> {}
        impl<From, To> fmt::Debug for $name<From, To> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.foreign_key.name)
                    .finish()
            }
        }
    };
}
copy_debug!(BelongsTo);
copy_debug!(HasMany);
