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
//! `::` is a cast. One name used twice is one parameter, numbered in order of first use. The
//! SQL is read with [`ormkit_schema::sql::lex`], the lexer the migration splitter and the
//! runtime share; a string, quoted name, dollar quote or comment left open is an error
//! naming its line.

use super::infer::{self, Compared, TableRef};
use crate::error::{CodegenError, Result};
use ormkit_schema::sql::{lex, TokenKind};
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
    /// For each parameter, the column it is compared with, if the SQL says so plainly.
    pub(crate) compared: Vec<Compared>,
    /// The tables in `FROM` and `JOIN` clauses.
    pub(crate) tables: Vec<TableRef>,
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
        let sql_offset = sql_start + leading;
        let lexed: Vec<lex::Token<'_>> = lex::tokenize(sql_text_trimmed).collect();
        refuse_unterminated(path, name, text, sql_offset, &lexed)?;
        let scanned = scan(sql_text_trimmed, &lexed);
        let (compared, tables) = infer::hints(&lexed, &scanned.params);
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
            offset: sql_offset,
            block: text[*start..end].trim_end().to_owned(),
            replacements: scanned.replacements,
        });
    }
    Ok(out)
}

/// An error at the `file:line` of the first string, quoted name, dollar quote or comment in
/// `lexed` (a query's SQL, at byte `sql_offset` of the file's `text`) that is never closed.
fn refuse_unterminated(
    path: &Path,
    name: &str,
    text: &str,
    sql_offset: usize,
    lexed: &[lex::Token<'_>],
) -> Result<()> {
    let Some((token, open)) = lexed.iter().find_map(|t| match t.kind {
        TokenKind::Unterminated(open) => Some((t, open)),
        _ => None,
    }) else {
        return Ok(());
    };
    let (line, column) = line_col(text, sql_offset + token.offset);
    let opening: String = token
        .text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(20)
        .collect();
    Err(query_error(
        path,
        line,
        format!(
            "query `{name}`: the {} `{opening}` at column {column} is never closed",
            open.describe()
        ),
    ))
}

struct Scanned {
    sql: String,
    params: Vec<String>,
    uses: Vec<Vec<usize>>,
    replacements: Vec<(usize, usize, usize, usize)>,
}

/// Replaces `:name` parameters by `$n`; the lexer keeps them apart from strings, quoted
/// identifiers, comments, dollar quotes and `::` casts.
fn scan(text: &str, lexed: &[lex::Token<'_>]) -> Scanned {
    let mut out = String::with_capacity(text.len());
    let mut params: Vec<String> = Vec::new();
    let mut uses: Vec<Vec<usize>> = Vec::new();
    let mut replacements = Vec::new();
    for token in lexed {
        if token.kind != TokenKind::NamedParam {
            out.push_str(token.text);
            continue;
        }
        let name = &token.text[1..];
        let n = match params.iter().position(|p| p == name) {
            Some(n) => n,
            None => {
                params.push(name.to_owned());
                uses.push(Vec::new());
                params.len() - 1
            }
        };
        uses[n].push(token.offset);
        let placeholder = format!("${}", n + 1);
        replacements.push((out.len(), token.offset, placeholder.len(), token.text.len()));
        out.push_str(&placeholder);
    }
    Scanned {
        sql: out,
        params,
        uses,
        replacements,
    }
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

    /// `SELECT id FROM accounts WHERE name = "café;` once panicked slicing inside `é`.
    #[test]
    fn an_unclosed_construct_is_an_error_naming_its_line() {
        let text = "-- name: a :many\n-- Doc.\nSELECT id FROM accounts WHERE name = \"café;\n";
        let err = parse(text).unwrap_err().to_string();
        assert_eq!(
            err,
            "q.sql:3: query `a`: the quoted identifier `\"café` at column 38 is never closed"
        );
        for (sql, what) in [
            ("'it''s", "string `'it''s`"),
            ("E'\\'", "string `E'\\'`"),
            ("$body$ SELECT 1;", "dollar-quoted string `$body$ SELECT 1`"),
            ("/* /* */ 1", "block comment `/* /* */ 1`"),
        ] {
            let err = parse(&format!("-- name: a :one\nSELECT 1,\n  {sql}"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("q.sql:3: query `a`: the "), "{err}");
            assert!(err.contains(what), "{err}");
            assert!(err.contains("at column 3 is never closed"), "{err}");
        }
    }

    /// The migration splitter and the runtime's `db.query.text` read `$é$ ; $é$` as one
    /// string too (`ormkit_schema::sql::lex`).
    #[test]
    fn non_ascii_dollar_quote_tags_hide_what_they_quote() {
        let q = &parse("-- name: a :one\nSELECT $é$ :x ; $é$, :y, $é1$:z$é1$;\n").unwrap()[0];
        assert_eq!(q.params, ["y"]);
        assert_eq!(q.sql, "SELECT $é$ :x ; $é$, $1, $é1$:z$é1$");
    }
}
