//! Identifier quoting: every identifier ormkit puts in SQL goes through [`quote_ident`].

pub(crate) use ormkit_schema::{push_quoted, quote_ident};
