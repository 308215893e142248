//! Relations from foreign keys: `posts::AUTHOR` is a `BelongsTo<Post, User, UserId>`,
//! `users::POSTS` a `HasMany<User, Post, UserId>`. `K` is the key the two sides are matched
//! on, a typed value ([`KeyValue`](crate::KeyValue)) of the referenced columns' types. Both
//! load a whole result set's related rows in one query (`= ANY($1)`, or `unnest` of one
//! array per column for composite keys), so 1000 users with their posts cost two queries,
//! not 1001. [`ManyToMany`] goes through a link table the same way, and relations nest
//! (`users::POSTS.with(posts::COMMENTS)`): one query per level.

#![cfg_attr(not(feature = "orm"), allow(dead_code))]

use crate::entity::Entity;
use crate::meta::ForeignKeyMeta;
use std::fmt;
use std::marker::PhantomData;

/// `From` holds a foreign key to `To`: each `From` row belongs to at most one `To`.
pub struct BelongsTo<From, To, K> {
    pub(crate) foreign_key: usize,
    pub(crate) from_key: fn(&From) -> Option<K>,
    pub(crate) to_key: fn(&To) -> Option<K>,
    _marker: PhantomData<fn() -> (From, To)>,
}

/// `To` holds a foreign key to `From`: each `From` row has any number of `To` rows.
pub struct HasMany<From, To, K> {
    pub(crate) foreign_key: usize,
    pub(crate) parent_key: fn(&From) -> Option<K>,
    pub(crate) child_key: fn(&To) -> Option<K>,
    _marker: PhantomData<fn() -> (From, To)>,
}

/// `From` and `To` rows are linked by rows of `Link`, a table of two foreign keys (one to
/// each) and an optional payload: each `From` row has any number of `To` rows, and the
/// other way round. `K` is `From`'s key, as the link table holds it.
pub struct ManyToMany<From, To, Link, K> {
    pub(crate) from_fk: usize,
    pub(crate) to_fk: usize,
    pub(crate) own_key: fn(&From) -> Option<K>,
    pub(crate) link_key: fn(&Link) -> Option<K>,
    _marker: ManyMarker<From, To, Link>,
}

/// The variance and auto-trait carrier of a [`ManyToMany`]: owns nothing.
type ManyMarker<From, To, Link> = PhantomData<fn() -> (From, To, Link)>;

impl<From, To, Link, K> ManyToMany<From, To, Link, K> {
    /// The relation through `Link`'s foreign keys number `from_fk` (to `From`) and `to_fk`
    /// (to `To`); the functions give `From`'s key and the link's copy of it. Generated code
    /// calls this.
    #[doc(hidden)]
    pub const fn new(
        from_fk: usize,
        to_fk: usize,
        own_key: fn(&From) -> Option<K>,
        link_key: fn(&Link) -> Option<K>,
    ) -> Self {
        ManyToMany {
            from_fk,
            to_fk,
            own_key,
            link_key,
            _marker: PhantomData,
        }
    }
}

impl<From, To, Link: Entity, K> ManyToMany<From, To, Link, K> {
    /// The link table's foreign key to `From`.
    pub fn from_key(&self) -> &'static ForeignKeyMeta {
        &Link::META.foreign_keys[self.from_fk]
    }

    /// The link table's foreign key to `To`.
    pub fn to_key(&self) -> &'static ForeignKeyMeta {
        &Link::META.foreign_keys[self.to_fk]
    }
}

impl<From, To, Link, K> Clone for ManyToMany<From, To, Link, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<From, To, Link, K> Copy for ManyToMany<From, To, Link, K> {}

impl<From, To, Link: Entity, K> fmt::Debug for ManyToMany<From, To, Link, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManyToMany").field(&Link::META.name).finish()
    }
}

impl<From, To, K> BelongsTo<From, To, K> {
    /// The relation through `From`'s foreign key number `foreign_key` (its index in
    /// [`EntityMeta::foreign_keys`](crate::EntityMeta::foreign_keys)); the functions give
    /// each side's key (`None` where a part of it is NULL). Generated code calls this.
    #[doc(hidden)]
    pub const fn new(
        foreign_key: usize,
        from_key: fn(&From) -> Option<K>,
        to_key: fn(&To) -> Option<K>,
    ) -> Self {
        BelongsTo {
            foreign_key,
            from_key,
            to_key,
            _marker: PhantomData,
        }
    }
}

impl<From: Entity, To, K> BelongsTo<From, To, K> {
    /// The foreign key behind the relation.
    pub fn foreign_key(&self) -> &'static ForeignKeyMeta {
        &From::META.foreign_keys[self.foreign_key]
    }
}

impl<From, To, K> HasMany<From, To, K> {
    /// The relation through `To`'s foreign key number `foreign_key`. Generated code calls
    /// this.
    #[doc(hidden)]
    pub const fn new(
        foreign_key: usize,
        parent_key: fn(&From) -> Option<K>,
        child_key: fn(&To) -> Option<K>,
    ) -> Self {
        HasMany {
            foreign_key,
            parent_key,
            child_key,
            _marker: PhantomData,
        }
    }
}

impl<From, To: Entity, K> HasMany<From, To, K> {
    /// The foreign key behind the relation.
    pub fn foreign_key(&self) -> &'static ForeignKeyMeta {
        &To::META.foreign_keys[self.foreign_key]
    }
}

macro_rules! copy_debug {
    ($name:ident) => {
        impl<From, To, K> Clone for $name<From, To, K> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<From, To, K> Copy for $name<From, To, K> {}
        impl<From: Entity, To: Entity, K> fmt::Debug for $name<From, To, K> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.foreign_key().name)
                    .finish()
            }
        }
    };
}
copy_debug!(BelongsTo);
copy_debug!(HasMany);
