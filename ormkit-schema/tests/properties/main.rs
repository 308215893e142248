//! Property tests: thousands of generated inputs for discovery (directory trees of file
//! names and contents), the SQL lexer and the statement splitter (arbitrary Unicode, and
//! SQL-ish text with quotes, dollar quotes and comments) and the lock parser (mutated and
//! random lock text). None may panic, and every refusal is an error naming its input.

mod discover;
mod lex;
mod lock;
mod split;
