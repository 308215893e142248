//! A lossless lexer of PostgreSQL's SQL: every byte of the input is in exactly one token.
//!
//! It follows PostgreSQL's `scan.l` as far as where tokens begin and end:
//!
//! - whitespace is ASCII only (` `, `\t`, `\n`, `\r`, `\v`, `\f`): other Unicode spaces are
//!   identifier characters to PostgreSQL;
//! - identifiers start with an ASCII letter, `_` or any non-ASCII character, and go on with
//!   those, digits and `$` (so `a$b$` is one identifier, not a dollar quote);
//! - `'…'` strings double a quote to escape it; `E'…'` strings (the `E` alone, right before
//!   the quote) also take backslash escapes; `B'…'`, `X'…'`, `N'…'` and `U&'…'` are strings
//!   too, and `"…"` / `U&"…"` quoted identifiers double `"`;
//! - `$tag$…$tag$` dollar quotes, whose tag starts like an identifier (a letter, `_` or any
//!   non-ASCII character) and goes on with digits too, but never `$`; `$$` has the empty tag,
//!   and `$1` is a positional parameter;
//! - `--` comments run to the end of the line; `/* … */` comments nest;
//! - operators are runs of `+-*/<>=~!@#%^&|`?` that stop before `--` or `/*`, and do not end
//!   in `+` or `-` unless they hold one of `~!@#%^&|`?` (so `=-1` is `=`, `-`, `1`).
//!
//! Two tokens are not PostgreSQL's: `:name` ([`TokenKind::NamedParam`], the query files'
//! parameters) and `::` ([`TokenKind::Cast`], so that a cast is never read as one).
//!
//! Lexing never fails: a string, quoted identifier, dollar quote or block comment that the
//! input ends inside is one [`TokenKind::Unterminated`] token up to the end, so a caller can
//! report it with its position, or pass it on for PostgreSQL to reject.
//!
//! ```
//! use ormkit_schema::sql::{tokenize, TokenKind};
//!
//! let sql = "SELECT $é$ ; $é$, 'it''s' -- done";
//! let kinds: Vec<TokenKind> = tokenize(sql)
//!     .filter(|t| !t.is_trivia())
//!     .map(|t| t.kind)
//!     .collect();
//! assert_eq!(
//!     kinds,
//!     [TokenKind::Ident, TokenKind::DollarString, TokenKind::Punct, TokenKind::String]
//! );
//! let rejoined: String = tokenize(sql).map(|t| t.text).collect();
//! assert_eq!(rejoined, sql);
//! ```

use std::ops::Range;

/// One token: its kind and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// What it is.
    pub kind: TokenKind,
    /// Its text, quotes, prefixes and comment markers included.
    pub text: &'a str,
    /// The byte offset of `text` in the input.
    pub offset: usize,
}

impl Token<'_> {
    /// The token's byte range in the input.
    pub fn span(&self) -> Range<usize> {
        self.offset..self.end()
    }

    /// The byte offset just past the token.
    pub fn end(&self) -> usize {
        self.offset + self.text.len()
    }

    /// Whitespace or a comment (terminated or not): nothing PostgreSQL reads as a token.
    pub fn is_trivia(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::Whitespace
                | TokenKind::LineComment
                | TokenKind::BlockComment
                | TokenKind::Unterminated(Open::BlockComment)
        )
    }
}

/// The kinds of [`Token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A run of ASCII whitespace.
    Whitespace,
    /// `-- …` up to, not including, the end of the line (`\n` or `\r`).
    LineComment,
    /// `/* … */`, nested ones included.
    BlockComment,
    /// An unquoted identifier or keyword.
    Ident,
    /// `"…"` or `U&"…"`.
    QuotedIdent,
    /// `'…'`, `E'…'`, `B'…'`, `X'…'`, `N'…'` or `U&'…'`, prefix included.
    String,
    /// `$tag$…$tag$` or `$$…$$`.
    DollarString,
    /// A numeric literal (`42`, `3.5e+2`, `.5`, `0x1F`), with any letters glued to it.
    Number,
    /// A positional parameter: `$1`.
    Param,
    /// A named parameter of a query file: `:name` (ASCII letters, digits and `_`, not
    /// starting with a digit).
    NamedParam,
    /// `::`.
    Cast,
    /// An operator: `=`, `<>`, `||`, `->>`, ….
    Operator,
    /// One of `( ) [ ] , ; . :`.
    Punct,
    /// Any other character (`$` not opening a dollar quote or parameter, `\`, `{`, …).
    Other,
    /// A quoted construct the input ends inside; the token runs to the end of the input.
    Unterminated(Open),
}

/// What an [`TokenKind::Unterminated`] token opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Open {
    /// A string (`'…`, `E'…`, …).
    String,
    /// A quoted identifier (`"…`).
    QuotedIdent,
    /// A dollar-quoted string (`$tag$…`).
    DollarString,
    /// A block comment (`/* …`).
    BlockComment,
}

impl Open {
    /// How a message names it: "string", "quoted identifier", ….
    pub fn describe(self) -> &'static str {
        match self {
            Open::String => "string",
            Open::QuotedIdent => "quoted identifier",
            Open::DollarString => "dollar-quoted string",
            Open::BlockComment => "block comment",
        }
    }
}

/// The tokens of `sql`, in order; their texts joined give back `sql`.
pub fn tokenize(sql: &str) -> Tokens<'_> {
    Tokens { sql, pos: 0 }
}

/// The iterator [`tokenize`] returns.
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    sql: &'a str,
    pos: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let offset = self.pos;
        let first = *self.sql.as_bytes().get(offset)?;
        let (kind, end) = Scanner::new(self.sql, offset).token(first);
        self.pos = end;
        Some(Token {
            kind,
            text: &self.sql[offset..end],
            offset,
        })
    }
}

/// Scans the one token at `at`. Every end it returns is either just past an ASCII byte or
/// the end of the input, so always a character boundary.
struct Scanner<'a> {
    sql: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn new(sql: &'a str, at: usize) -> Self {
        Scanner {
            sql,
            bytes: sql.as_bytes(),
            at,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    fn token(&self, first: u8) -> (TokenKind, usize) {
        let next = self.peek(1);
        match first {
            _ if is_space(first) => (TokenKind::Whitespace, self.skip_while(self.at, is_space)),
            b'-' if next == Some(b'-') => (TokenKind::LineComment, self.line_end()),
            b'/' if next == Some(b'*') => self.block_comment(),
            b'\'' => self.quoted(1, Open::String, false),
            b'"' => self.quoted(1, Open::QuotedIdent, false),
            b'$' => self.dollar(),
            b':' if next == Some(b':') => (TokenKind::Cast, self.at + 2),
            b':' if next.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') => {
                let end = self.skip_while(self.at + 1, |b| b.is_ascii_alphanumeric() || b == b'_');
                (TokenKind::NamedParam, end)
            }
            b'0'..=b'9' => (TokenKind::Number, self.number_end()),
            b'.' if next.is_some_and(|b| b.is_ascii_digit()) => {
                (TokenKind::Number, self.number_end())
            }
            _ if is_identifier_start(first) => self.word(first),
            b'(' | b')' | b'[' | b']' | b',' | b';' | b'.' | b':' => {
                (TokenKind::Punct, self.at + 1)
            }
            _ if is_operator_char(first) => (TokenKind::Operator, self.operator_end()),
            // Identifier starts take every non-ASCII byte, so this is one ASCII byte.
            _ => (TokenKind::Other, self.at + 1),
        }
    }

    fn skip_while(&self, from: usize, accept: impl Fn(u8) -> bool) -> usize {
        let len = self.bytes[from..]
            .iter()
            .take_while(|&&b| accept(b))
            .count();
        from + len
    }

    /// The end of a `--` comment: the next `\n` or `\r` (not included), or the input's.
    fn line_end(&self) -> usize {
        self.skip_while(self.at, |b| b != b'\n' && b != b'\r')
    }

    /// A `/* … */` comment, counting nested openings.
    fn block_comment(&self) -> (TokenKind, usize) {
        let mut depth = 0usize;
        let mut i = self.at;
        while let (Some(&a), Some(&b)) = (self.bytes.get(i), self.bytes.get(i + 1)) {
            match (a, b) {
                (b'/', b'*') => {
                    depth += 1;
                    i += 2;
                }
                (b'*', b'/') => {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        return (TokenKind::BlockComment, i);
                    }
                }
                _ => i += 1,
            }
        }
        (
            TokenKind::Unterminated(Open::BlockComment),
            self.bytes.len(),
        )
    }

    /// A string or quoted identifier whose opening quote is `open` bytes past the start
    /// (after any prefix): a doubled quote is an escaped one and, with `backslashes`, a
    /// backslash escapes the next byte.
    fn quoted(&self, open: usize, what: Open, backslashes: bool) -> (TokenKind, usize) {
        let quote = self.bytes[self.at + open - 1];
        let mut i = self.at + open;
        while let Some(&b) = self.bytes.get(i) {
            if backslashes && b == b'\\' {
                // Skipping into a multi-byte character is harmless: its other bytes are
                // never a quote or a backslash.
                i += 2;
            } else if b == quote && self.bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else if b == quote {
                let kind = match what {
                    Open::QuotedIdent => TokenKind::QuotedIdent,
                    _ => TokenKind::String,
                };
                return (kind, i + 1);
            } else {
                i += 1;
            }
        }
        (TokenKind::Unterminated(what), self.bytes.len())
    }

    /// An identifier, or a string or quoted identifier behind a one-letter prefix.
    fn word(&self, first: u8) -> (TokenKind, usize) {
        let (next, after) = (self.peek(1), self.peek(2));
        match (first.to_ascii_lowercase(), next, after) {
            (b'e', Some(b'\''), _) => self.quoted(2, Open::String, true),
            (b'b' | b'x' | b'n', Some(b'\''), _) => self.quoted(2, Open::String, false),
            (b'u', Some(b'&'), Some(b'\'')) => self.quoted(3, Open::String, false),
            (b'u', Some(b'&'), Some(b'"')) => self.quoted(3, Open::QuotedIdent, false),
            _ => (
                TokenKind::Ident,
                self.skip_while(self.at + 1, is_identifier_continue),
            ),
        }
    }

    /// `$1`, a dollar-quoted string, or a lone `$`.
    fn dollar(&self) -> (TokenKind, usize) {
        let tag_start = self.at + 1;
        let tag_end = match self.peek(1) {
            Some(b) if b.is_ascii_digit() => {
                return (
                    TokenKind::Param,
                    self.skip_while(tag_start, |b| b.is_ascii_digit()),
                );
            }
            Some(b'$') => tag_start,
            Some(b) if is_identifier_start(b) => self.skip_while(tag_start, is_tag_continue),
            _ => return (TokenKind::Other, tag_start),
        };
        if self.bytes.get(tag_end) != Some(&b'$') {
            return (TokenKind::Other, tag_start);
        }
        let delimiter = &self.sql[self.at..=tag_end];
        let body = tag_end + 1;
        match self.sql[body..].find(delimiter) {
            Some(at) => (TokenKind::DollarString, body + at + delimiter.len()),
            None => (TokenKind::Unterminated(Open::DollarString), self.sql.len()),
        }
    }

    /// The end of a number: digits, a point, an exponent with its sign, and any identifier
    /// characters glued on (PostgreSQL rejects those as trailing junk; here they stay in the
    /// number rather than start a word).
    fn number_end(&self) -> usize {
        let mut i = self.at + 1;
        while let Some(&b) = self.bytes.get(i) {
            let exponent_sign = matches!(b, b'+' | b'-')
                && matches!(self.bytes[i - 1], b'e' | b'E')
                && self.bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b >= 0x80 || exponent_sign {
                i += 1;
            } else {
                break;
            }
        }
        i
    }

    /// The end of an operator starting at `self.at`, by PostgreSQL's rules.
    fn operator_end(&self) -> usize {
        let starts_comment = |i: usize| {
            matches!(
                (self.bytes[i], self.bytes.get(i + 1)),
                (b'-', Some(b'-')) | (b'/', Some(b'*'))
            )
        };
        let mut end = self.at + 1;
        while end < self.bytes.len() && is_operator_char(self.bytes[end]) && !starts_comment(end) {
            end += 1;
        }
        let op = &self.bytes[self.at..end];
        let ends_in_sign = |op: &[u8]| op.len() > 1 && matches!(op[op.len() - 1], b'+' | b'-');
        if ends_in_sign(op) && !op[..op.len() - 1].iter().any(|b| b"~!@#^&|`?%".contains(b)) {
            let mut op = op;
            while ends_in_sign(op) {
                op = &op[..op.len() - 1];
            }
            end = self.at + op.len();
        }
        end
    }
}

/// PostgreSQL's whitespace (scan.l's `space`): ASCII only.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Bytes that may start an identifier (every non-ASCII byte is a letter to PostgreSQL).
fn is_identifier_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// Bytes that may continue an identifier.
fn is_identifier_continue(b: u8) -> bool {
    is_tag_continue(b) || b == b'$'
}

/// Bytes that may continue a dollar-quote tag.
fn is_tag_continue(b: u8) -> bool {
    is_identifier_start(b) || b.is_ascii_digit()
}

/// scan.l's `op_chars`.
fn is_operator_char(b: u8) -> bool {
    b"~!@#^&|`?+-*/%<>=".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::{tokenize, Open, TokenKind};
    use TokenKind::*;

    /// The tokens of `sql` as `(kind, text)`, trivia included.
    fn lex(sql: &str) -> Vec<(TokenKind, &str)> {
        tokenize(sql).map(|t| (t.kind, t.text)).collect()
    }

    /// The significant tokens of `sql`.
    fn significant(sql: &str) -> Vec<(TokenKind, &str)> {
        tokenize(sql)
            .filter(|t| !t.is_trivia())
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn strings_and_their_prefixes() {
        assert_eq!(
            significant(r"'it''s' E'a\'b' e'\\' B'01' x'1F' N'n' U&'d\0061' name'x'"),
            [
                (String, "'it''s'"),
                (String, r"E'a\'b'"),
                (String, r"e'\\'"),
                (String, "B'01'"),
                (String, "x'1F'"),
                (String, "N'n'"),
                (String, r"U&'d\0061'"),
                (Ident, "name"),
                (String, "'x'"),
            ]
        );
        // A backslash is literal in a standard string: `'a\'` ends at its second quote.
        assert_eq!(significant(r"'a\' b"), [(String, r"'a\'"), (Ident, "b")]);
    }

    #[test]
    fn quoted_identifiers_double_their_quote() {
        assert_eq!(
            significant(r#""a""b" U&"c" "é""#),
            [
                (QuotedIdent, r#""a""b""#),
                (QuotedIdent, r#"U&"c""#),
                (QuotedIdent, r#""é""#)
            ]
        );
    }

    #[test]
    fn dollar_quotes_follow_postgresql_tag_rules() {
        assert_eq!(
            significant("$$a;b$$ $t1$ $$ $t1$ $é$ ; $é$ $_$x$_$"),
            [
                (DollarString, "$$a;b$$"),
                (DollarString, "$t1$ $$ $t1$"),
                (DollarString, "$é$ ; $é$"),
                (DollarString, "$_$x$_$"),
            ]
        );
        // `$1` is a parameter, `$1a$` is not a tag, `a$b$` one identifier.
        assert_eq!(
            significant("$1 $12::int a$b$ $ $a"),
            [
                (Param, "$1"),
                (Param, "$12"),
                (Cast, "::"),
                (Ident, "int"),
                (Ident, "a$b$"),
                (Other, "$"),
                (Other, "$"),
                (Ident, "a"),
            ]
        );
        // The closing delimiter may follow any text, as in PostgreSQL.
        assert_eq!(significant("$a$x$a$"), [(DollarString, "$a$x$a$")]);
    }

    #[test]
    fn comments_nest_and_end_lines() {
        assert_eq!(
            lex("a -- c /* \r\nb /* x /* y */ z */c"),
            [
                (Ident, "a"),
                (Whitespace, " "),
                (LineComment, "-- c /* "),
                (Whitespace, "\r\n"),
                (Ident, "b"),
                (Whitespace, " "),
                (BlockComment, "/* x /* y */ z */"),
                (Ident, "c"),
            ]
        );
    }

    #[test]
    fn named_parameters_and_casts() {
        assert_eq!(
            significant("a = :x AND b::text = :y_2 AND c[1:2] := :é"),
            [
                (Ident, "a"),
                (Operator, "="),
                (NamedParam, ":x"),
                (Ident, "AND"),
                (Ident, "b"),
                (Cast, "::"),
                (Ident, "text"),
                (Operator, "="),
                (NamedParam, ":y_2"),
                (Ident, "AND"),
                (Ident, "c"),
                (Punct, "["),
                (Number, "1"),
                (Punct, ":"),
                (Number, "2"),
                (Punct, "]"),
                (Punct, ":"),
                (Operator, "="),
                (Punct, ":"),
                (Ident, "é"),
            ]
        );
    }

    #[test]
    fn operators_and_numbers() {
        assert_eq!(
            significant("a<>-1 b=-2.5e-3 c->>'k' d@-e f+--x\n/*/ */g*/*h*/"),
            [
                (Ident, "a"),
                (Operator, "<>"),
                (Operator, "-"),
                (Number, "1"),
                (Ident, "b"),
                (Operator, "="),
                (Operator, "-"),
                (Number, "2.5e-3"),
                (Ident, "c"),
                (Operator, "->>"),
                (String, "'k'"),
                (Ident, "d"),
                (Operator, "@-"),
                (Ident, "e"),
                (Ident, "f"),
                (Operator, "+"),
                (Ident, "g"),
                (Operator, "*"),
            ]
        );
        assert_eq!(
            significant(".5 1e 2x"),
            [(Number, ".5"), (Number, "1e"), (Number, "2x")]
        );
    }

    #[test]
    fn unterminated_constructs_run_to_the_end() {
        for (sql, open) in [
            ("'abc", Open::String),
            (r"E'abc\", Open::String),
            ("\"café", Open::QuotedIdent),
            ("$t$ abc $t", Open::DollarString),
            ("/* /* */", Open::BlockComment),
        ] {
            let input = format!("x {sql}");
            let tokens = lex(&input);
            assert_eq!(tokens.last(), Some(&(Unterminated(open), sql)), "{sql}");
        }
    }

    #[test]
    fn non_ascii_spaces_are_identifier_characters() {
        assert_eq!(lex("a\u{a0}b\u{2000}"), [(Ident, "a\u{a0}b\u{2000}")]);
    }
}
