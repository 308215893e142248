//! Query files: `queries/**/*.sql`, each holding named queries in sqlc's convention.
//!
//! ```sql
//! -- name: active_authors :many
//! -- Authors with a post in the last :days days.
//! SELECT u.id, u.email, count(p.id) AS posts
//! FROM users u JOIN posts p ON p.author_id = u.id
//! WHERE p.created_at > now() - make_interval(days => :days)
//! GROUP BY u.id;
//! ```
//!
//! A query runs from its `-- name:` line to the next one. The `--` lines right after the name
//! are its documentation (`-- returns: Entity` among them names the entity its rows are).
//! Parameters are `:name`, outside strings, quoted identifiers, comments and dollar quotes;
//! `::` is a cast. One name used twice is one parameter, numbered in order of first use.

use crate::error::{CodegenError, Result};
use std::path::{Path, PathBuf};

/// What a query's call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Exactly one row (an error when there is none).
    One,
    /// At most one row.
    Opt,
    /// Every row (as a `Vec`, and as a stream).
    Many,
    /// The number of rows affected.
    Exec,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::One => "one",
            Kind::Opt => "opt",
            Kind::Many => "many",
            Kind::Exec => "exec",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "one" => Kind::One,
            "opt" => Kind::Opt,
            "many" => Kind::Many,
            "exec" => Kind::Exec,
            _ => return None,
        })
    }
}

/// One named query, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryDef {
    /// The file, relative to the queries directory, with `/` separators (`reports.sql`).
    pub(crate) file: String,
    /// The query's name (`active_authors`).
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// The documentation lines.
    pub(crate) doc: Vec<String>,
    /// `-- returns: Entity`.
    pub(crate) returns: Option<String>,
    /// The SQL as written, without a trailing `;`.
    pub(crate) text: String,
    /// The SQL sent to PostgreSQL: parameters as `$1`, `$2`, ….
    pub(crate) sql: String,
    /// The parameters' names, in `$n` order.
    pub(crate) params: Vec<String>,
    /// Where each parameter occurs in `text` (byte offsets), by parameter.
    pub(crate) uses: Vec<Vec<usize>>,
    /// The 1-based line of the `-- name:` line.
    pub(crate) line: usize,
    /// The byte offset of `text` in the file.
    pub(crate) offset: usize,
    /// The whole block (name line to the end of the query), for its checksum.
    pub(crate) block: String,
    /// For each parameter, the column it is compared with when the SQL says so plainly
    /// (`alias.column = :name` or `:name = column`): `(qualifier, column)`.
    pub(crate) compared: Vec<Option<(Option<String>, String)>>,
    /// The tables in `FROM` and `JOIN` clauses: `(name as written, alias)`.
    pub(crate) tables: Vec<(Vec<String>, Option<String>)>,
    /// `(offset in sql, offset in text, length in sql, length in text)` of each parameter
    /// replacement, in order: what maps a position PostgreSQL reports back into the file.
    replacements: Vec<(usize, usize, usize, usize)>,
}

impl QueryDef {
    /// The byte offset in the file of the character at `position` (1-based, in characters,
    /// as PostgreSQL reports it) of `sql`.
    pub(crate) fn file_offset(&self, position: usize) -> usize {
        let sql_byte = self
            .sql
            .char_indices()
            .nth(position.saturating_sub(1))
            .map_or(self.sql.len(), |(i, _)| i);
        let mut text_byte = sql_byte;
        for &(sql_at, text_at, sql_len, text_len) in &self.replacements {
            if sql_byte >= sql_at + sql_len {
                text_byte = text_byte + text_len - sql_len;
            } else if sql_byte >= sql_at {
                text_byte = text_at;
                break;
            } else {
                break;
            }
        }
        self.offset + text_byte.min(self.text.len())
    }
}

/// Line and column (1-based, in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Every `.sql` file below `dir`, sorted by relative path; none when `dir` does not exist.
pub(crate) fn discover(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = std::fs::read_dir(&current).map_err(crate::error::io_err(&current))?;
        for entry in entries {
            let entry = entry.map_err(crate::error::io_err(&current))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((path, relative));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

fn query_error(path: &Path, line: usize, message: impl Into<String>) -> CodegenError {
    CodegenError::Query {
        location: format!("{}:{line}", path.display()),
        message: message.into(),
    }
}

/// The queries of one file (`path`, `relative` to the queries directory).
pub(crate) fn parse_file(path: &Path, relative: &str, text: &str) -> Result<Vec<QueryDef>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut headers = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("-- name:") {
            headers.push((i + 1, offset, offset + line.len(), rest.trim().to_owned()));
        } else if i == 0 || headers.is_empty() {
            let significant = !trimmed.is_empty() && !trimmed.starts_with("--");
            if significant {
                return Err(query_error(
                    path,
                    i + 1,
                    "SQL before the first `-- name: <name> :<kind>` line",
                ));
            }
        }
        offset += line.len();
    }
    let mut out: Vec<QueryDef> = Vec::new();
    for (n, (line, start, body_start, header)) in headers.iter().enumerate() {
        let end = headers.get(n + 1).map_or(text.len(), |h| h.1);
        let mut words = header.split_whitespace();
        let (Some(name), kind) = (words.next(), words.next()) else {
            return Err(query_error(path, *line, "`-- name:` without a query name"));
        };
        let valid_name = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if !valid_name {
            return Err(query_error(
                path,
                *line,
                format!("`{name}` is not a query name (letters, digits and `_`, not starting with a digit)"),
            ));
        }
        let kind = match kind.map(|k| k.strip_prefix(':').unwrap_or(k)) {
            Some(k) => Kind::parse(k).ok_or_else(|| {
                query_error(
                    path,
                    *line,
                    format!(
                        "query `{name}`: unknown kind `:{k}` (expected :one, :opt, :many or :exec)"
                    ),
                )
            })?,
            None => {
                return Err(query_error(
                    path,
                    *line,
                    format!("query `{name}` has no kind (:one, :opt, :many or :exec)"),
                ))
            }
        };
        if let Some(extra) = words.next() {
            return Err(query_error(
                path,
                *line,
                format!("query `{name}`: unexpected `{extra}` after the kind"),
            ));
        }
        if let Some(first) = out.iter().find(|q| q.name == name) {
            return Err(query_error(
                path,
                *line,
                format!(
                    "a second query named `{name}` in this file (the first is at line {})",
                    first.line
                ),
            ));
        }
        // Documentation: the `--` lines right after the name.
        let body = &text[*body_start..end];
        let mut doc = Vec::new();
        let mut returns = None;
        let mut sql_start = *body_start;
        for l in body.split_inclusive('\n') {
            let t = l.trim();
            if let Some(comment) = t.strip_prefix("--") {
                let comment = comment.trim();
                match comment.strip_prefix("returns:") {
                    Some(entity) => returns = Some(entity.trim().to_owned()),
                    None => doc.push(comment.to_owned()),
                }
                sql_start += l.len();
            } else if t.is_empty() && doc.is_empty() {
                sql_start += l.len();
            } else {
                break;
            }
        }
        let raw = &text[sql_start..end];
        let trimmed_end = raw.trim_end();
        let sql_text = trimmed_end
            .strip_suffix(';')
            .unwrap_or(trimmed_end)
            .trim_end();
        let leading = sql_text.len() - sql_text.trim_start().len();
        let sql_text_trimmed = sql_text.trim_start();
        if sql_text_trimmed.is_empty() {
            return Err(query_error(
                path,
                *line,
                format!("query `{name}` has no SQL"),
            ));
        }
        let scanned = scan(sql_text_trimmed);
        let tokens = tokens(sql_text_trimmed);
        let compared = (0..scanned.params.len())
            .map(|n| compared_column(&tokens, &scanned.params[n]))
            .collect();
        let tables = tables(&tokens);
        out.push(QueryDef {
            compared,
            tables,
            file: relative.to_owned(),
            name: name.to_owned(),
            kind,
            doc,
            returns,
            text: sql_text_trimmed.to_owned(),
            sql: scanned.sql,
            params: scanned.params,
            uses: scanned.uses,
            line: *line,
            offset: sql_start + leading,
            block: text[*start..end].trim_end().to_owned(),
            replacements: scanned.replacements,
        });
    }
    Ok(out)
}

struct Scanned {
    sql: String,
    params: Vec<String>,
    uses: Vec<Vec<usize>>,
    replacements: Vec<(usize, usize, usize, usize)>,
}

/// Replaces `:name` parameters by `$n`, skipping strings, identifiers, comments and dollar
/// quotes.
fn scan(text: &str) -> Scanned {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut params: Vec<String> = Vec::new();
    let mut uses: Vec<Vec<usize>> = Vec::new();
    let mut replacements = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    let ident_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    let ident_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                i = quoted_end(
                    bytes,
                    i,
                    b'\'',
                    i > 0 && matches!(bytes[i - 1], b'e' | b'E'),
                )
            }
            b'"' => i = quoted_end(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            b'$' => i = dollar_quoted_end(text, i).unwrap_or(i + 1),
            b':' if bytes.get(i + 1) == Some(&b':') => i += 2,
            b':' if bytes.get(i + 1).is_some_and(|&b| ident_start(b))
                && (i == 0 || bytes[i - 1] != b':') =>
            {
                let start = i;
                let mut end = i + 1;
                while end < bytes.len() && ident_char(bytes[end]) {
                    end += 1;
                }
                let name = &text[start + 1..end];
                let n = match params.iter().position(|p| p == name) {
                    Some(n) => n,
                    None => {
                        params.push(name.to_owned());
                        uses.push(Vec::new());
                        params.len() - 1
                    }
                };
                uses[n].push(start);
                out.push_str(&text[copied..start]);
                let placeholder = format!("${}", n + 1);
                replacements.push((out.len(), start, placeholder.len(), end - start));
                out.push_str(&placeholder);
                copied = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    Scanned {
        sql: out,
        params,
        uses,
        replacements,
    }
}

/// A token of SQL, enough to find tables and simple comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An identifier or keyword (unquoted ones lowercased), with whether it was quoted.
    Word(String, bool),
    Param(String),
    Punct(String),
    /// A literal or anything else.
    Other,
}

fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = block_comment_end(bytes, i),
            b'\'' => {
                i = quoted_end(bytes, i, b'\'', false);
                out.push(Token::Other);
            }
            b'$' => {
                i = dollar_quoted_end(text, i).unwrap_or(i + 1);
                out.push(Token::Other);
            }
            b'"' => {
                let end = quoted_end(bytes, i, b'"', false);
                let inner = &text[i + 1..end.saturating_sub(1).max(i + 1)];
                out.push(Token::Word(inner.replace("\"\"", "\""), true));
                i = end;
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                out.push(Token::Punct("::".into()));
                i += 2;
            }
            b':' if bytes
                .get(i + 1)
                .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_') =>
            {
                let mut end = i + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                out.push(Token::Param(text[i + 1..end].to_owned()));
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut end = i;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric()
                        || bytes[end] == b'_'
                        || bytes[end] == b'$')
                {
                    end += 1;
                }
                out.push(Token::Word(text[i..end].to_ascii_lowercase(), false));
                i = end;
            }
            b'<' | b'>' | b'!' | b'=' => {
                let mut end = i + 1;
                while end < bytes.len() && matches!(bytes[end], b'<' | b'>' | b'!' | b'=') {
                    end += 1;
                }
                out.push(Token::Punct(text[i..end].to_owned()));
                i = end;
            }
            b'.' | b',' | b'(' | b')' | b';' => {
                out.push(Token::Punct((b as char).to_string()));
                i += 1;
            }
            _ => {
                // Numbers and other operators: one token per run of non-space bytes that are
                // not the punctuation above.
                let mut end = i + 1;
                while end < bytes.len()
                    && !matches!(
                        bytes[end],
                        b' ' | b'\t'
                            | b'\n'
                            | b'\r'
                            | b'.'
                            | b','
                            | b'('
                            | b')'
                            | b'\''
                            | b'"'
                            | b':'
                    )
                    && !(bytes[end].is_ascii_alphabetic())
                {
                    end += 1;
                }
                out.push(Token::Other);
                i = end;
            }
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "where",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "on",
    "using",
    "group",
    "order",
    "limit",
    "offset",
    "having",
    "window",
    "union",
    "except",
    "intersect",
    "natural",
    "lateral",
    "for",
    "returning",
    "set",
    "values",
    "select",
    "from",
    "as",
    "and",
    "or",
    "not",
];

/// `a.b.c` starting at `tokens[at]`: the words and the index after them.
fn qualified(tokens: &[Token], at: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = Vec::new();
    let mut i = at;
    loop {
        match tokens.get(i) {
            Some(Token::Word(w, quoted)) if *quoted || !KEYWORDS.contains(&w.as_str()) => {
                parts.push(w.clone());
                i += 1;
            }
            _ => return None,
        }
        if tokens.get(i) == Some(&Token::Punct(".".into())) {
            i += 1;
        } else {
            return Some((parts, i));
        }
    }
}

/// The column `:param` is compared with by `=`/`<>`/`!=`, when every use agrees.
fn compared_column(tokens: &[Token], param: &str) -> Option<(Option<String>, String)> {
    let mut found: Option<(Option<String>, String)> = None;
    for (i, t) in tokens.iter().enumerate() {
        if *t != Token::Param(param.to_owned()) {
            continue;
        }
        let is_op = |t: Option<&Token>| matches!(t, Some(Token::Punct(p)) if p == "=" || p == "<>" || p == "!=");
        let mut this = None;
        if i >= 2 && is_op(tokens.get(i - 1)) {
            // Walk back over `a . b`.
            let mut start = i - 2;
            while start >= 2
                && tokens[start - 1] == Token::Punct(".".into())
                && matches!(tokens[start - 2], Token::Word(..))
            {
                start -= 2;
            }
            if let Some((parts, end)) = qualified(tokens, start) {
                if end == i - 1 {
                    this = Some(parts);
                }
            }
        }
        if this.is_none() && is_op(tokens.get(i + 1)) {
            if let Some((parts, end)) = qualified(tokens, i + 2) {
                let followed_by_call = tokens.get(end) == Some(&Token::Punct("(".into()));
                if !followed_by_call {
                    this = Some(parts);
                }
            }
        }
        let this = match this {
            Some(parts) if parts.len() == 1 => (None, parts[0].clone()),
            Some(parts) if parts.len() == 2 => (Some(parts[0].clone()), parts[1].clone()),
            _ => return None,
        };
        match &found {
            Some(previous) if *previous != this => return None,
            _ => found = Some(this),
        }
    }
    found
}

/// The tables named after `FROM`, `JOIN` and `UPDATE`/`INTO`, and after a comma in a FROM
/// clause (`FROM a JOIN b ON … , c`), with their aliases.
fn tables(tokens: &[Token]) -> Vec<(Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    // Whether a FROM clause is open, at which parenthesis depth.
    let mut in_from = false;
    let (mut depth, mut from_depth) = (0_usize, 0_usize);
    let mut i = 0;
    while i < tokens.len() {
        let starts = match &tokens[i] {
            Token::Word(w, false) => {
                let w = w.as_str();
                if matches!(w, "from" | "join" | "update" | "into") {
                    in_from = w == "from" || w == "join";
                    from_depth = depth;
                    true
                } else {
                    if FROM_ENDS.contains(&w) {
                        in_from = false;
                    }
                    false
                }
            }
            Token::Punct(p) if p == "," => in_from && depth == from_depth,
            Token::Punct(p) if p == "(" => {
                depth += 1;
                false
            }
            Token::Punct(p) if p == ")" => {
                depth = depth.saturating_sub(1);
                in_from &= depth >= from_depth;
                false
            }
            Token::Punct(p) if p == ";" => {
                in_from = false;
                false
            }
            _ => false,
        };
        i += 1;
        if !starts {
            continue;
        }
        // `FROM a x, b y`: every item of the list.
        while let Some((name, mut next)) = qualified(tokens, i) {
            if tokens.get(next) == Some(&Token::Punct("(".into())) {
                break; // a function call
            }
            if matches!(tokens.get(next), Some(Token::Word(w, false)) if w == "as") {
                next += 1;
            }
            let alias = match tokens.get(next) {
                Some(Token::Word(w, quoted)) if *quoted || !KEYWORDS.contains(&w.as_str()) => {
                    next += 1;
                    Some(w.clone())
                }
                _ => None,
            };
            out.push((name, alias));
            i = next;
            if tokens.get(i) == Some(&Token::Punct(",".into())) {
                i += 1;
            } else {
                break;
            }
        }
    }
    out
}

/// Keywords that end a FROM clause.
const FROM_ENDS: &[&str] = &[
    "where",
    "group",
    "having",
    "window",
    "order",
    "limit",
    "offset",
    "fetch",
    "for",
    "union",
    "intersect",
    "except",
    "returning",
    "set",
    "values",
    "select",
];

fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslashes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if backslashes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of a `$tag$ … $tag$` string starting at `start`, if one starts there.
fn dollar_quoted_end(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    if !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || tag.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let delimiter = format!("${tag}$");
    let body = start + delimiter.len();
    Some(
        text[body..]
            .find(&delimiter)
            .map_or(text.len(), |n| body + n + delimiter.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<QueryDef>> {
        parse_file(Path::new("q.sql"), "q.sql", text)
    }

    #[test]
    fn named_parameters_become_positional_once_each() {
        let q = &parse(
            "-- name: find :many\n-- Doc line one.\n-- returns: User\nSELECT * FROM t WHERE a = :x AND b::text = ':y' AND c = :x AND d = $$:z$$ -- :w\n  AND e = \"col:v\" AND f = :y2;\n",
        )
        .unwrap()[0];
        assert_eq!(q.name, "find");
        assert_eq!(q.kind, Kind::Many);
        assert_eq!(q.doc, ["Doc line one."]);
        assert_eq!(q.returns.as_deref(), Some("User"));
        assert_eq!(q.params, ["x", "y2"]);
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE a = $1 AND b::text = ':y' AND c = $1 AND d = $$:z$$ -- :w\n  AND e = \"col:v\" AND f = $2"
        );
        assert_eq!(q.uses[0].len(), 2);
        assert_eq!(q.line, 1);
        // PostgreSQL's position of `$2` (1-based characters) maps back to `:y2` in the file.
        let at = q.sql.find("$2").unwrap() + 1;
        let offset = q.file_offset(at);
        let text = "-- name: find :many\n-- Doc line one.\n-- returns: User\nSELECT * FROM t WHERE a = :x AND b::text = ':y' AND c = :x AND d = $$:z$$ -- :w\n  AND e = \"col:v\" AND f = :y2;\n";
        assert!(text[offset..].starts_with(":y2"), "{}", &text[offset..]);
        assert_eq!(line_col(text, offset), (5, 27));
    }

    #[test]
    fn tables_and_compared_columns() {
        let q = &parse(
            "-- name: a :many\nSELECT * FROM public.users u JOIN posts AS p ON p.author_id = u.id, \"Weird Names\" w\nWHERE u.id = :user AND :post = p.id AND p.title = lower(:title) AND u.karma > :k AND w.\"ID\" = :w AND :user = u.id\n",
        )
        .unwrap()[0];
        assert_eq!(q.params, ["user", "post", "title", "k", "w"]);
        assert_eq!(
            q.tables,
            [
                (
                    vec!["public".to_owned(), "users".to_owned()],
                    Some("u".to_owned())
                ),
                (vec!["posts".to_owned()], Some("p".to_owned())),
                (vec!["Weird Names".to_owned()], Some("w".to_owned())),
            ]
        );
        let c = |q: &str, c: &str| Some((Some(q.to_owned()), c.to_owned()));
        assert_eq!(
            q.compared,
            [c("u", "id"), c("p", "id"), None, None, c("w", "ID")]
        );
    }

    #[test]
    fn several_queries_and_their_errors() {
        let qs = parse("-- name: a :one\nSELECT 1;\n\n-- name: b :exec\nDELETE FROM t;\n").unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(
            (qs[1].name.as_str(), qs[1].line, qs[1].kind),
            ("b", 4, Kind::Exec)
        );
        for (text, needle) in [
            ("-- name: a :maybe\nSELECT 1;", "unknown kind `:maybe`"),
            ("-- name: a\nSELECT 1;", "has no kind"),
            (
                "-- name: a :one\nSELECT 1;\n-- name: a :one\nSELECT 2;",
                "a second query named `a`",
            ),
            ("SELECT 1;\n-- name: a :one\nSELECT 1;", "before the first"),
            ("-- name: 1a :one\nSELECT 1;", "is not a query name"),
            ("-- name: a :one\n-- only a comment\n", "has no SQL"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
            assert!(err.contains("q.sql:"), "{err}");
        }
    }
}
