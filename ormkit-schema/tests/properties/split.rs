//! The statement splitter on random SQL-ish text.

use ormkit_schema::migrations::split_statements;
use proptest::prelude::*;

/// Pieces of PostgreSQL's lexical structure, well formed or not.
pub(crate) fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "select 1",
        "insert into t values (1)",
        ";",
        " ",
        "\n",
        "\t",
        "'a;b'",
        "'it''s;'",
        "E'\\';x'",
        "e'\\\\'",
        "\"odd;name\"",
        "\"q\"\";\"",
        "$$a;b$$",
        "$t$ x; $$ ; $t$",
        "$é$;$é$",
        "-- c; c\n",
        "--",
        "/* c; */",
        "/* /* n; */ ; */",
        "/*",
        "*/",
        "(",
        ")",
        "begin",
        "end",
        "atomic",
        "case",
        "create",
        "or",
        "replace",
        "function",
        "procedure",
        "f() returns int language sql",
        "é",
        "ü;",
        "$1",
        "$",
        "$a",
        "'",
        "\"",
        "e",
        "E",
        "\\",
        "0",
        "x$y$",
        "\r\n",
    ])
}

/// Plain statements: no quote, comment, parenthesis, `$` or `;`.
fn plain_statement() -> impl Strategy<Value = String> {
    "[a-z0-9 ,=*+<>]{0,30}"
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("a statement", |s| !s.is_empty())
}

fn check_invariants(script: &str) -> Result<(), TestCaseError> {
    let statements = split_statements(script);
    let mut end = 0;
    for statement in &statements {
        let at = statement.offset;
        prop_assert!(
            at >= end,
            "statements overlap in {script:?}: {statements:?}"
        );
        prop_assert!(script.is_char_boundary(at), "offset {at} in {script:?}");
        let text = script.get(at..at + statement.sql.len());
        prop_assert_eq!(text, Some(statement.sql), "offset of {:?}", statement.sql);
        prop_assert!(!statement.sql.is_empty());
        let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c');
        prop_assert_eq!(statement.sql, statement.sql.trim_matches(space));
        prop_assert!(!statement.sql.starts_with("--") && !statement.sql.starts_with("/*"));
        end = at + statement.sql.len();
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn sql_like_text_splits_into_statements_of_the_script(
        pieces in prop::collection::vec(piece(), 0..40)
    ) {
        check_invariants(&pieces.concat())?;
    }

    #[test]
    fn any_text_splits_without_panicking(script in any::<String>()) {
        check_invariants(&script)?;
    }

    #[test]
    fn plain_statements_come_back_as_written(
        statements in prop::collection::vec(plain_statement(), 0..10),
        quoted in prop::collection::vec("[a-z;' ]{0,8}", 10),
    ) {
        // Each statement gets a string literal holding `;`s (quotes doubled) and a comment.
        let with_literals: Vec<String> = statements
            .iter()
            .zip(&quoted)
            .map(|(s, q)| format!("{s} '{}'", q.replace('\'', "''")))
            .collect();
        let script: String = with_literals
            .iter()
            .map(|s| format!("-- note; {s}\n{s};\n"))
            .collect();
        let found: Vec<&str> = split_statements(&script).iter().map(|s| s.sql).collect();
        prop_assert_eq!(found, with_literals.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
