//! What a query's SQL says plainly, for type inference: the tables it reads and the column
//! each parameter is compared with (`typing.rs` looks those columns up for the parameter's
//! type and nullability).

use ormkit_schema::sql::{lex, TokenKind};

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

/// The column a parameter is compared with, `(qualifier, column)`, when the SQL says so
/// plainly (`alias.column = :name` or `:name = column`).
pub(crate) type Compared = Option<(Option<String>, String)>;

/// A table a query reads: `(name as written, alias)`.
pub(crate) type TableRef = (Vec<String>, Option<String>);

/// For each of `params` (in `$n` order) the column it is compared with, and the tables named
/// after `FROM`, `JOIN`, `UPDATE` and `INTO`.
pub(super) fn hints(lexed: &[lex::Token<'_>], params: &[String]) -> (Vec<Compared>, Vec<TableRef>) {
    let tokens = tokens(lexed);
    let compared = params
        .iter()
        .map(|param| compared_column(&tokens, param))
        .collect();
    (compared, tables(&tokens))
}

/// The lexer's tokens as the table and comparison finders see them.
fn tokens(lexed: &[lex::Token<'_>]) -> Vec<Token> {
    lexed
        .iter()
        .filter(|t| !t.is_trivia())
        .map(|t| match t.kind {
            TokenKind::Ident => Token::Word(t.text.to_ascii_lowercase(), false),
            TokenKind::QuotedIdent => {
                // `"…"` or `U&"…"`, terminated (unterminated ones were refused).
                let inner = t.text.split_once('"').map_or("", |(_, rest)| rest);
                let inner = inner.strip_suffix('"').unwrap_or(inner);
                Token::Word(inner.replace("\"\"", "\""), true)
            }
            TokenKind::NamedParam => Token::Param(t.text[1..].to_owned()),
            TokenKind::Cast => Token::Punct("::".into()),
            TokenKind::Punct if matches!(t.text, "." | "," | "(" | ")" | ";") => {
                Token::Punct(t.text.to_owned())
            }
            TokenKind::Operator if t.text.bytes().all(|b| b"<>!=".contains(&b)) => {
                Token::Punct(t.text.to_owned())
            }
            _ => Token::Other,
        })
        .collect()
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
fn compared_column(tokens: &[Token], param: &str) -> Compared {
    let mut found: Compared = None;
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
fn tables(tokens: &[Token]) -> Vec<TableRef> {
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

#[cfg(test)]
mod tests {
    use super::super::parse::parse_file;
    use std::path::Path;

    #[test]
    fn tables_and_compared_columns() {
        let q = &parse_file(Path::new("q.sql"), "q.sql", 
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
}
