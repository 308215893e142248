//! Identifier quoting: every identifier ormkit puts in SQL goes through [`quote_ident`].

pub(crate) use ormkit_schema::quote_ident;
