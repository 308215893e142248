//! SQL identifiers: quoting for statements, and the `schema.name` form used in `schema.lock`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Quotes `ident` as a PostgreSQL identifier: always double-quoted, embedded quotes doubled.
///
/// Every identifier ormkit writes into SQL goes through this function, so no name taken from
/// the catalog can end a quoted identifier early.
///
/// ```
/// assert_eq!(ormkit_schema::quote_ident(r#"a"; DROP"#), r#""a""; DROP""#);
/// ```
pub fn quote_ident(ident: &str) -> String {
    let mut out = String::with_capacity(ident.len() + 2);
    push_quoted(&mut out, ident);
    out
}

/// Appends `ident` to `out`, quoted as [`quote_ident`] quotes it (without allocating).
pub fn push_quoted(out: &mut String, ident: &str) {
    out.push('"');
    if ident.contains('"') {
        for ch in ident.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
    } else {
        out.push_str(ident);
    }
    out.push('"');
}

/// Quotes `ident` only when PostgreSQL would need it (as `quote_ident()` in SQL does):
/// lowercase letters, digits and `_`, not starting with a digit, pass through.
///
/// This is the form `regtype` prints, which sqlx compares type names against. Keywords are
/// quoted too (a short list of reserved words that can name types).
pub fn quote_ident_if_needed(ident: &str) -> String {
    let simple = !ident.is_empty()
        && ident
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&ident);
    if simple {
        ident.to_owned()
    } else {
        quote_ident(ident)
    }
}

/// Reserved SQL keywords that must be quoted when used as names (PostgreSQL's "reserved" list).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "system_user",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// A schema-qualified name, such as a table's or a type's.
///
/// Its text form, used in `schema.lock`, is `schema.name` with each part quoted only when
/// needed (`public.users`, `"My Schema"."odd""name"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct QualifiedName {
    /// The schema (namespace), e.g. `public`.
    pub schema: String,
    /// The object's own name.
    pub name: String,
}

impl QualifiedName {
    /// A name in `schema`.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// `"schema"."name"`, always quoted: the form to splice into SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            quote_ident_if_needed(&self.schema),
            quote_ident_if_needed(&self.name)
        )
    }
}

impl From<QualifiedName> for String {
    fn from(value: QualifiedName) -> Self {
        value.to_string()
    }
}

/// The text was not a `schema.name` pair.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a qualified name (schema.name): {reason}")]
pub struct ParseNameError {
    text: String,
    reason: &'static str,
}

impl FromStr for QualifiedName {
    type Err = ParseNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseNameError {
            text: text.to_owned(),
            reason,
        };
        let (schema, rest) = parse_part(text).map_err(err)?;
        let rest = rest.strip_prefix('.').ok_or(err("missing `.`"))?;
        let (name, rest) = parse_part(rest).map_err(err)?;
        if !rest.is_empty() {
            return Err(err("trailing text"));
        }
        Ok(QualifiedName { schema, name })
    }
}

impl TryFrom<String> for QualifiedName {
    type Error = ParseNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// Parses one identifier (quoted or bare) off the front of `text`.
fn parse_part(text: &str) -> Result<(String, &str), &'static str> {
    if let Some(mut rest) = text.strip_prefix('"') {
        let mut out = String::new();
        loop {
            let end = rest.find('"').ok_or("unterminated quoted identifier")?;
            out.push_str(&rest[..end]);
            rest = &rest[end + 1..];
            match rest.strip_prefix('"') {
                Some(after) => {
                    out.push('"');
                    rest = after;
                }
                None => return Ok((out, rest)),
            }
        }
    }
    let end = text.find('.').unwrap_or(text.len());
    if end == 0 {
        return Err("empty identifier");
    }
    Ok((text[..end].to_owned(), &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_names() {
        for (schema, name) in [
            ("public", "users"),
            ("My Schema", "odd\"name"),
            ("a.b", "c.d"),
            ("x", "\"; DROP TABLE users; --"),
            ("public", "user"),
            ("public", "9lives"),
        ] {
            let q = QualifiedName::new(schema, name);
            let text = q.to_string();
            assert_eq!(text.parse::<QualifiedName>().unwrap(), q, "{text}");
        }
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            QualifiedName::new("public", "users").to_string(),
            "public.users"
        );
        assert_eq!(
            QualifiedName::new("public", "User").to_string(),
            "public.\"User\""
        );
        assert_eq!(
            QualifiedName::new("public", "user").to_string(),
            "public.\"user\""
        );
    }

    #[test]
    fn rejects_malformed() {
        assert!("public".parse::<QualifiedName>().is_err());
        assert!("\"open.x".parse::<QualifiedName>().is_err());
        assert!("a.b.c".parse::<QualifiedName>().is_err());
    }
}
