//! Identifier quoting: every identifier ormkit puts in SQL goes through [`quote_ident`].

#[cfg(feature = "orm")]
pub(crate) use ormkit_schema::push_quoted;
pub(crate) use ormkit_schema::quote_ident;
