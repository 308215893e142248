//! The lock parser on mutated and random text: no panic, every refusal names the file.

use std::path::Path;

use ormkit_schema::SchemaLock;
use proptest::prelude::*;

const PATH: &str = "fuzzed/schema.lock";

/// The repository's committed lock.
fn reference() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.lock");
        std::fs::read_to_string(path).expect("the committed schema.lock")
    })
}

/// One edit of a text: replace the bytes `at..at + len` (clamped to char boundaries) with
/// `insert`.
#[derive(Debug, Clone)]
struct Edit {
    at: usize,
    len: usize,
    insert: String,
}

fn edit() -> impl Strategy<Value = Edit> {
    let insert = prop_oneof![
        Just(String::new()),
        "[\\[\\]{}:,\"0-9a-z ]{1,4}",
        Just("\"format\": 2".to_owned()),
        Just("\"format\": -1".to_owned()),
        Just("\"format\": \"1\"".to_owned()),
        Just("null".to_owned()),
        any::<String>(),
    ];
    (any::<usize>(), 0..16usize, insert).prop_map(|(at, len, insert)| Edit { at, len, insert })
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_owned();
    for Edit { at, len, insert } in edits {
        let mut start = at % (text.len() + 1);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        text.replace_range(start..end, insert);
    }
    text
}

fn check(text: &str) -> Result<(), TestCaseError> {
    match SchemaLock::parse(text, PATH) {
        Ok(lock) => {
            // Whatever parses is a lock: its canonical text parses back to it.
            let again = SchemaLock::parse(&lock.to_text(), PATH);
            prop_assert_eq!(again.ok(), Some(lock));
        }
        Err(err) => {
            let message = err.to_string();
            prop_assert!(message.starts_with(PATH), "{message}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_locks_parse_or_are_refused_naming_the_file(
        edits in prop::collection::vec(edit(), 1..4)
    ) {
        check(&apply(reference(), &edits))?;
    }

    #[test]
    fn truncated_locks_are_refused_naming_the_file(cut in any::<usize>()) {
        // Cutting only the trailing newline leaves a whole lock: cut into the JSON itself.
        let text = reference();
        let mut at = cut % text.trim_end().len();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        prop_assert!(SchemaLock::parse(&text[..at], PATH).is_err());
        check(&text[..at])?;
    }

    #[test]
    fn random_text_is_refused_naming_the_file(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn any_format_number_is_read_or_refused(format in any::<u64>()) {
        let text = reference().replacen("\"format\": 1", &format!("\"format\": {format}"), 1);
        let result = SchemaLock::parse(&text, PATH);
        prop_assert_eq!(result.is_ok(), format == 1);
        if format > 1 {
            let message = result.unwrap_err().to_string();
            prop_assert!(message.contains("written by a newer ormkit"), "{message}");
        }
    }
}

#[test]
fn the_reference_lock_parses() {
    assert!(SchemaLock::parse(reference(), PATH).is_ok());
    assert!(reference().contains("\"format\": 1"));
}
