//! Relations from foreign keys: `posts::AUTHOR` is a `BelongsTo<Post, User>`, `users::POSTS`
//! a `HasMany<User, Post>`.

use crate::meta::ForeignKeyMeta;
use std::fmt;
use std::marker::PhantomData;

macro_rules! relation {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<From, To> {
            foreign_key: &'static ForeignKeyMeta,
            _marker: PhantomData<fn() -> (From, To)>,
        }

        impl<From, To> $name<From, To> {
            /// The relation through `foreign_key`. Generated code calls this.
            pub const fn new(foreign_key: &'static ForeignKeyMeta) -> Self {
                $name { foreign_key, _marker: PhantomData }
            }

            /// The foreign key behind the relation.
            pub const fn foreign_key(&self) -> &'static ForeignKeyMeta {
                self.foreign_key
            }
        }

        impl<From, To> Clone for $name<From, To> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<From, To> Copy for $name<From, To> {}

        impl<From, To> fmt::Debug for $name<From, To> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.foreign_key.name).finish()
            }
        }
    };
}

relation!(
    /// `From` holds a foreign key to `To`: each `From` row belongs to at most one `To`.
    BelongsTo
);
relation!(
    /// `To` holds a foreign key to `From`: each `From` row has any number of `To` rows.
    HasMany
);
