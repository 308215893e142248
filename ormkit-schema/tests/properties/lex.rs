//! The SQL lexer on arbitrary text, and the splitter's statements against its tokens.

use ormkit_schema::migrations::split_statements;
use ormkit_schema::sql::{tokenize, Token, TokenKind};
use proptest::prelude::*;

/// Text of arbitrary characters, dense in the ones that matter to SQL's lexical structure.
fn sql_punctuation() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\'', '"', '$', '-', '/', '*', ':', '\\', '\n', '\r', ';', '(', ')', ' ', 'e', 'E', 'u',
        'U', '&', 'b', 'x', 'a', '_', '1', '.', '+', '=', '<', 'é', '\u{2000}', '\u{a0}',
    ]);
    let one = prop_oneof![3 => special, 1 => any::<char>()];
    prop::collection::vec(one, 0..80).prop_map(String::from_iter)
}

/// The lexer's promises on `sql`: tokens are non-empty, contiguous, re-join to `sql`, and
/// only the last one may be unterminated.
fn check_tokens(sql: &str) -> Result<Vec<Token<'_>>, TestCaseError> {
    let tokens: Vec<Token<'_>> = tokenize(sql).collect();
    let mut end = 0;
    for (i, token) in tokens.iter().enumerate() {
        prop_assert_eq!(token.offset, end, "{:?} in {:?}", token, sql);
        prop_assert!(!token.text.is_empty(), "empty {:?} in {:?}", token, sql);
        prop_assert_eq!(&sql[token.span()], token.text);
        if matches!(token.kind, TokenKind::Unterminated(_)) {
            prop_assert_eq!(i, tokens.len() - 1, "{:?} is not last in {:?}", token, sql);
        }
        end = token.end();
    }
    prop_assert_eq!(end, sql.len());
    let rejoined: String = tokens.iter().map(|t| t.text).collect();
    prop_assert_eq!(rejoined, sql);
    Ok(tokens)
}

/// The splitter's statements and the `;`, whitespace and comments between them make up the
/// whole script, and no statement cuts a token in two (but for the trailing whitespace of an
/// unterminated one at the end, trimmed like any statement's).
fn check_split_covers(script: &str) -> Result<(), TestCaseError> {
    let tokens = check_tokens(script)?;
    let statements = split_statements(script);
    for token in tokens {
        let span = token.span();
        let inside = statements
            .iter()
            .find(|s| span.start < s.offset + s.sql.len() && s.offset < span.end);
        match inside {
            Some(s) => prop_assert!(
                (s.offset <= span.start && span.end <= s.offset + s.sql.len())
                    || token.is_trivia()
                    || (matches!(token.kind, TokenKind::Unterminated(_))
                        && s.offset <= span.start
                        && s.offset + s.sql.len() == span.start + trim_space(token.text).len()),
                "{:?} is cut by {:?} in {:?}",
                token,
                s,
                script
            ),
            None => prop_assert!(
                token.is_trivia() || (token.kind, token.text) == (TokenKind::Punct, ";"),
                "{:?} is in no statement of {:?}: {:?}",
                token,
                script,
                statements
            ),
        }
    }
    Ok(())
}

/// `text` without its trailing (ASCII) whitespace.
fn trim_space(text: &str) -> &str {
    text.trim_end_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_text_lexes_losslessly(sql in any::<String>()) {
        check_tokens(&sql)?;
    }

    #[test]
    fn sql_punctuation_lexes_losslessly(sql in sql_punctuation()) {
        check_tokens(&sql)?;
    }

    #[test]
    fn sql_like_text_lexes_losslessly(pieces in prop::collection::vec(crate::split::piece(), 0..40)) {
        check_tokens(&pieces.concat())?;
    }

    #[test]
    fn statements_and_separators_cover_the_script(sql in sql_punctuation()) {
        check_split_covers(&sql)?;
    }

    #[test]
    fn sql_like_statements_cover_the_script(
        pieces in prop::collection::vec(crate::split::piece(), 0..40)
    ) {
        check_split_covers(&pieces.concat())?;
    }

    #[test]
    fn any_text_quoted_is_one_token(text in any::<String>(), tag in "[a-zé_][a-z0-9é_]{0,4}") {
        let string = format!("'{}'", text.replace('\'', "''"));
        let ident = format!("\"{}\"", text.replace('"', "\"\""));
        let kinds = |sql: &str| tokenize(sql).map(|t| t.kind).collect::<Vec<_>>();
        prop_assert_eq!(kinds(&string), [TokenKind::String]);
        prop_assert_eq!(kinds(&ident), [TokenKind::QuotedIdent]);
        let delimiter = format!("${tag}$");
        if !format!("{text}$").contains(&delimiter) {
            let dollar = format!("{delimiter}{text}{delimiter}");
            prop_assert_eq!(kinds(&dollar), [TokenKind::DollarString]);
        }
    }
}
