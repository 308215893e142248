//! A lexer-level splitter of SQL scripts into single statements.
//!
//! Scripts that must run outside a transaction are sent one statement at a time, because
//! PostgreSQL runs a multi-statement simple query as one implicit transaction (which makes
//! `CREATE INDEX CONCURRENTLY` fail). The splitter understands just enough of PostgreSQL's
//! lexical structure to find the `;` that end statements: `'…'` strings with `''` escapes,
//! `E'…'` strings with backslash escapes, `"…"` identifiers, `$$…$$` / `$tag$…$tag$`
//! dollar-quoted strings, `--` line comments, nested `/* … */` block comments, parentheses,
//! and (like psql) `BEGIN … END` bodies of `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
//!
//! It never fails: an unterminated string or comment extends to the end of the script, which
//! then becomes one final statement for PostgreSQL to reject with a proper error.

/// One statement of a script, as found by [`split_statements`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text: from its first token (leading whitespace and comments skipped)
    /// up to, not including, the terminating `;`, with trailing (ASCII, as PostgreSQL
    /// sees it) whitespace trimmed.
    pub sql: &'a str,
    /// The byte offset of `sql` in the script.
    pub offset: usize,
}

/// Splits `script` into statements at top-level `;`, skipping empty and comment-only ones.
pub fn split_statements(script: &str) -> Vec<Statement<'_>> {
    let mut splitter = Splitter {
        src: script,
        bytes: script.as_bytes(),
        pos: 0,
        start: None,
        paren_depth: 0,
        begin_depth: 0,
        words: RoutineHeader::default(),
        out: Vec::new(),
    };
    splitter.run();
    splitter.out
}

/// The scanning state.
struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Byte offset of the current statement's first token, if it has one yet.
    start: Option<usize>,
    paren_depth: usize,
    begin_depth: usize,
    words: RoutineHeader,
    out: Vec<Statement<'a>>,
}

impl<'a> Splitter<'a> {
    fn run(&mut self) {
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                _ if is_space(char::from(byte)) => self.pos += 1,
                b'-' if self.peek(1) == Some(b'-') => self.pos = self.line_comment_end(),
                b'/' if self.peek(1) == Some(b'*') => self.pos = self.block_comment_end(),
                b';' if self.paren_depth == 0 && self.begin_depth == 0 => {
                    self.finish(self.pos);
                    self.pos += 1;
                }
                _ => {
                    self.start.get_or_insert(self.pos);
                    self.token(byte);
                }
            }
        }
        self.finish(self.bytes.len());
    }

    /// Consumes one significant token starting with `byte` at `self.pos`.
    fn token(&mut self, byte: u8) {
        match byte {
            b'\'' => self.pos = self.quoted_end(self.pos, b'\'', false),
            b'"' => self.pos = self.quoted_end(self.pos, b'"', false),
            b'$' => self.pos = self.dollar_quoted_end().unwrap_or(self.pos + 1),
            b'(' => {
                self.paren_depth += 1;
                self.pos += 1;
            }
            b')' => {
                self.paren_depth = self.paren_depth.saturating_sub(1);
                self.pos += 1;
            }
            b'0'..=b'9' => self.pos = self.skip_while(self.pos, is_identifier_continue),
            _ if is_identifier_start(byte) => self.identifier(),
            _ => self.pos += 1,
        }
    }

    /// Consumes an identifier or keyword, or an `E'…'` string.
    fn identifier(&mut self) {
        let start = self.pos;
        self.pos = self.skip_while(start, is_identifier_continue);
        let word = &self.src[start..self.pos];
        if word.eq_ignore_ascii_case("e") && self.peek(0) == Some(b'\'') {
            self.pos = self.quoted_end(self.pos, b'\'', true);
            return;
        }
        self.words.push(word);
        if !self.words.is_routine_definition() || self.paren_depth > 0 {
            return;
        }
        if word.eq_ignore_ascii_case("begin") {
            self.begin_depth += 1;
        } else if word.eq_ignore_ascii_case("case") && self.begin_depth > 0 {
            // CASE also ends with END; it only matters inside a BEGIN.
            self.begin_depth += 1;
        } else if word.eq_ignore_ascii_case("end") {
            self.begin_depth = self.begin_depth.saturating_sub(1);
        }
    }

    /// Ends the current statement at byte `end` (exclusive) and resets the state.
    fn finish(&mut self, end: usize) {
        if let Some(start) = self.start.take() {
            // PostgreSQL's whitespace is ASCII only: U+2000 and friends are identifier
            // characters to it, so they are part of the statement.
            let sql = self.src[start..end].trim_end_matches(is_space);
            self.out.push(Statement { sql, offset: start });
        }
        self.paren_depth = 0;
        self.begin_depth = 0;
        self.words = RoutineHeader::default();
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn skip_while(&self, from: usize, accept: fn(u8) -> bool) -> usize {
        let len = self.bytes[from..]
            .iter()
            .take_while(|&&b| accept(b))
            .count();
        from + len
    }

    /// The end of a `--` comment: the next newline (kept) or the end of the script.
    fn line_comment_end(&self) -> usize {
        self.bytes[self.pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |at| self.pos + at)
    }

    /// The end of a (possibly nested) `/* … */` comment starting at `self.pos`.
    fn block_comment_end(&self) -> usize {
        let mut depth = 0usize;
        let mut i = self.pos;
        while i < self.bytes.len() {
            match (self.bytes[i], self.bytes.get(i + 1)) {
                (b'/', Some(b'*')) => {
                    depth += 1;
                    i += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => i += 1,
            }
        }
        self.bytes.len()
    }

    /// The end of a string or quoted identifier opened by `quote` at `open`, where a doubled
    /// quote is an escaped quote and, if `backslash`, a backslash escapes the next byte.
    fn quoted_end(&self, open: usize, quote: u8, backslash: bool) -> usize {
        let mut i = open + 1;
        while let Some(&byte) = self.bytes.get(i) {
            let escaped_quote = byte == quote && self.bytes.get(i + 1) == Some(&quote);
            if escaped_quote || (backslash && byte == b'\\') {
                i += 2;
            } else if byte == quote {
                return i + 1;
            } else {
                i += 1;
            }
        }
        self.bytes.len()
    }

    /// If a dollar-quote delimiter (`$$` or `$tag$`) starts at `self.pos`, the end of the
    /// dollar-quoted string (or of the script if it is unterminated).
    fn dollar_quoted_end(&self) -> Option<usize> {
        let first = self.pos + 1;
        let tag_end = match self.bytes.get(first) {
            Some(b'$') => first,
            Some(&b) if is_identifier_start(b) => self.skip_while(first, is_tag_continue),
            _ => return None,
        };
        if self.bytes.get(tag_end) != Some(&b'$') {
            return None;
        }
        let delimiter = &self.src[self.pos..=tag_end];
        let body = tag_end + 1;
        let end = self.src[body..]
            .find(delimiter)
            .map_or(self.src.len(), |at| body + at + delimiter.len());
        Some(end)
    }
}

/// The first words of a statement, enough to recognise `CREATE [OR REPLACE] FUNCTION` and
/// `CREATE [OR REPLACE] PROCEDURE`, whose `BEGIN ATOMIC … END` bodies contain `;`.
#[derive(Default)]
struct RoutineHeader {
    words: [Keyword; 4],
    count: usize,
}

/// The few keywords [`RoutineHeader`] cares about.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    #[default]
    Other,
    Create,
    Or,
    Replace,
    Routine,
}

impl RoutineHeader {
    fn push(&mut self, word: &str) {
        let Some(slot) = self.words.get_mut(self.count) else {
            return;
        };
        *slot = match word.to_ascii_lowercase().as_str() {
            "create" => Keyword::Create,
            "or" => Keyword::Or,
            "replace" => Keyword::Replace,
            "function" | "procedure" => Keyword::Routine,
            _ => Keyword::Other,
        };
        self.count += 1;
    }

    fn is_routine_definition(&self) -> bool {
        use Keyword::{Create, Or, Replace, Routine};
        matches!(
            self.words,
            [Create, Routine, ..] | [Create, Or, Replace, Routine]
        )
    }
}

/// PostgreSQL's whitespace (scan.l's `space`): ASCII only.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Bytes that may start an identifier (non-ASCII bytes are letters for PostgreSQL).
fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

/// Bytes that may continue an identifier (or a number, which is harmless here).
fn is_identifier_continue(byte: u8) -> bool {
    is_tag_continue(byte) || byte == b'$'
}

/// Bytes that may continue a dollar-quote tag.
fn is_tag_continue(byte: u8) -> bool {
    is_identifier_start(byte) || byte.is_ascii_digit()
}
