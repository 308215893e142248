//! SQL text as PostgreSQL reads it: [`lex`] cuts it into tokens.
//!
//! Always available (no feature, no dependency): the migration splitter, the code
//! generator's query-file scanner and the runtime's literal stripping for `db.query.text`
//! all read SQL through this one lexer, so they agree on where a string, a quoted name, a
//! dollar quote or a comment ends.

pub mod lex;

pub use lex::{tokenize, Open, Token, TokenKind, Tokens};
