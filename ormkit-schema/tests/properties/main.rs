//! Property tests: thousands of generated inputs for discovery (directory trees of file
//! names and contents), the statement splitter (SQL-ish text with quotes, dollar quotes and
//! comments) and the lock parser (mutated and random lock text). None may panic, and every
//! refusal is an error naming its input.

mod discover;
mod lock;
mod split;
