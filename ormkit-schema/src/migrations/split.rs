//! A lexer-level splitter of SQL scripts into single statements.
//!
//! Scripts that must run outside a transaction are sent one statement at a time, because
//! PostgreSQL runs a multi-statement simple query as one implicit transaction (which makes
//! `CREATE INDEX CONCURRENTLY` fail). The splitter reads the script's tokens from
//! [`crate::sql::lex`] (strings, quoted identifiers, dollar quotes and comments are single
//! tokens there, so a `;` inside them is never seen) and follows parentheses and (like psql)
//! `BEGIN … END` bodies of `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
//!
//! It never fails: an unterminated string or comment extends to the end of the script, which
//! then becomes one final statement for PostgreSQL to reject with a proper error.

use crate::sql::{tokenize, Token, TokenKind};

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
        script,
        start: None,
        paren_depth: 0,
        begin_depth: 0,
        words: RoutineHeader::default(),
        out: Vec::new(),
    };
    for token in tokenize(script) {
        splitter.token(token);
    }
    splitter.finish(script.len());
    splitter.out
}

/// The splitting state.
struct Splitter<'a> {
    script: &'a str,
    /// Byte offset of the current statement's first token, if it has one yet.
    start: Option<usize>,
    paren_depth: usize,
    begin_depth: usize,
    words: RoutineHeader,
    out: Vec<Statement<'a>>,
}

impl<'a> Splitter<'a> {
    fn token(&mut self, token: Token<'_>) {
        if token.is_trivia() {
            return;
        }
        let at_top = self.paren_depth == 0 && self.begin_depth == 0;
        match (token.kind, token.text) {
            (TokenKind::Punct, ";") if at_top => return self.finish(token.offset),
            (TokenKind::Punct, "(") => self.paren_depth += 1,
            (TokenKind::Punct, ")") => self.paren_depth = self.paren_depth.saturating_sub(1),
            (TokenKind::Ident, word) => self.word(word),
            _ => {}
        }
        self.start.get_or_insert(token.offset);
    }

    /// Follows `BEGIN … END` in the body of a routine definition.
    fn word(&mut self, word: &str) {
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
            let sql = self.script[start..end].trim_end_matches(is_space);
            self.out.push(Statement { sql, offset: start });
        }
        self.paren_depth = 0;
        self.begin_depth = 0;
        self.words = RoutineHeader::default();
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
