//! The statement splitter: quoting forms, comments, offsets and malformed input.

use ormkit_schema::migrations::{split_statements, Statement};

/// The statements' texts.
fn texts(script: &str) -> Vec<&str> {
    split_statements(script).iter().map(|s| s.sql).collect()
}

/// Every statement's offset points at its text in the script.
fn assert_offsets(script: &str) {
    for Statement { sql, offset } in split_statements(script) {
        assert_eq!(&script[offset..offset + sql.len()], sql);
    }
}

#[test]
fn splits_on_semicolons_with_offsets() {
    let script = "create table a (id int);\n  insert into a values (1) ;select 1";
    assert_eq!(
        split_statements(script),
        [
            Statement {
                sql: "create table a (id int)",
                offset: 0
            },
            Statement {
                sql: "insert into a values (1)",
                offset: 27
            },
            Statement {
                sql: "select 1",
                offset: 53
            },
        ]
    );
}

#[test]
fn skips_empty_and_comment_only_statements() {
    let script = "-- header\n;;\n/* nothing */ ;\nselect 1; -- trailing\n  \n";
    let offset = script.find("select").expect("present");
    assert_eq!(
        split_statements(script),
        [Statement {
            sql: "select 1",
            offset
        }]
    );
    assert_eq!(split_statements(""), []);
    assert_eq!(split_statements("-- ormkit:no-transaction\n"), []);
}

#[test]
fn leading_comments_are_not_part_of_the_statement() {
    let script = "-- no-transaction\n/* a */ create index concurrently i on t (c);";
    let statements = split_statements(script);
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0].sql, "create index concurrently i on t (c)");
    assert_eq!(
        statements[0].offset,
        script.find("create").expect("present")
    );
}

#[test]
fn semicolon_inside_each_quoting_form_does_not_split() {
    let cases = [
        "select 'a;b', 'it''s;'",
        "select E'a\\';b', e'\\\\'",
        "select \"odd;name\", \"with\"\";quote\" from t",
        "select $$a;b$$",
        "select $body$ a; $$ ; $b$ ; $body$",
        "select $é$ a; $é$",
        "select 1 -- comment; still a comment\n + 2",
        "select /* a; /* nested; */ still; */ 1",
        "select (1;2)",
    ];
    for case in cases {
        let script = format!("{case};\nselect 2;");
        assert_eq!(texts(&script), [case, "select 2"], "{case}");
        assert_offsets(&script);
    }
}

#[test]
fn escapes_do_not_end_strings_early() {
    // In a standard string a backslash is literal, so `'a\'` ends there.
    assert_eq!(
        texts("select 'a\\'; select 2"),
        ["select 'a\\'", "select 2"]
    );
    // In an E string `\'` is an escaped quote.
    assert_eq!(
        texts("select E'a\\'; b'; select 2"),
        ["select E'a\\'; b'", "select 2"]
    );
    // Identifiers ending in e are not E strings, and `$` inside identifiers is no quote.
    assert_eq!(
        texts("select name'x'; select a$b$; select 2"),
        ["select name'x'", "select a$b$", "select 2"]
    );
}

#[test]
fn positional_parameters_are_not_dollar_quotes() {
    assert_eq!(
        texts("prepare p as select $1; execute p(1)"),
        ["prepare p as select $1", "execute p(1)"]
    );
}

#[test]
fn begin_atomic_bodies_are_kept_whole() {
    let function = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\n\
                    BEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND";
    let procedure = "create procedure p() begin atomic insert into t values (1); end";
    let script = format!("{function};\n{procedure};\nbegin;\nselect 1;\nend;");
    assert_eq!(
        texts(&script),
        [function, procedure, "begin", "select 1", "end"]
    );
    assert_offsets(&script);
}

#[test]
fn unterminated_constructs_become_one_final_statement() {
    let cases = [
        "select 'never closed; select 2",
        "select E'never closed \\",
        "select \"never closed; select 2",
        "select $$ never closed; select 2",
        "select $a$ never closed $b$; select 2",
        "select /* /* */ never closed; select 2",
        "select (never closed; select 2",
    ];
    for case in cases {
        let script = format!("select 1; {case}");
        assert_eq!(texts(&script), ["select 1", case], "{case}");
        assert_offsets(&script);
    }
    assert_eq!(texts("select 1 -- no newline"), ["select 1 -- no newline"]);
    assert_eq!(texts("$"), ["$"]);
    assert_eq!(texts("/*"), [] as [&str; 0]);
}

#[test]
fn offsets_are_byte_offsets_with_multibyte_text() {
    let script = "select 'héllo';\n-- ünïcode\nselect \"naïve\";";
    let statements = split_statements(script);
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[1].offset,
        script.find("select \"").expect("present")
    );
    assert_offsets(script);
}

/// PostgreSQL's whitespace is ASCII: other Unicode spaces are identifier characters to it,
/// so a statement made of one is kept, not trimmed to nothing (found by the property test).
#[test]
fn unicode_spaces_are_not_whitespace() {
    assert_eq!(texts("\u{2000}"), ["\u{2000}"]);
    assert_eq!(texts("select 1\u{a0};"), ["select 1\u{a0}"]);
    assert_offsets("\u{2000}; select 1");
}
