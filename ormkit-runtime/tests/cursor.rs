//! The keyset cursor decoder (`Select::after`) on thousands of random and mutated cursors,
//! through the public API only, on an entity described by hand with `ormkit::entity!`: no
//! panic, and every refusal names the table and says the cursor is invalid.

use base64::Engine as _;
use ormkit::Column;
use proptest::prelude::*;

/// A row of `public.items`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `id`, the key.
    pub id: i64,
    /// `name`.
    pub name: String,
    /// `note`, nullable.
    pub note: Option<String>,
}

ormkit::entity! {
    Item = "public"."items" (Table) {
        id: "id" "int8".key(),
        name: "name" "text",
        note: "note" "text".nullable(),
    }
    key: ["id"],
}

const NAME: Column<Item, String> = Column::new(1);
const NOTE: Column<Item, Option<String>> = Column::new(2);

fn encode(json: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// What `Select::after` says about `cursor` on a query ordered by name (then id).
fn decode(cursor: &str) -> Result<(), String> {
    Item::query()
        .order_by(NAME.asc())
        .after(Some(cursor))
        .map(drop)
        .map_err(|err| err.to_string())
}

fn assert_names_the_table(result: Result<(), String>) -> Result<(), TestCaseError> {
    if let Err(message) = result {
        prop_assert!(
            message.contains("items") && message.contains("invalid cursor"),
            "{message}"
        );
    }
    Ok(())
}

/// JSON values of any shape, as a cursor might hold after a bad merge or tampering.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,4}", inner, 0..3)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn cursors_made_for_the_ordering_are_accepted(name in ".{0,20}", id in any::<i64>()) {
        let cursor = encode(&serde_json::json!([name, id]).to_string());
        prop_assert_eq!(decode(&cursor), Ok(()));
    }

    #[test]
    fn random_text_is_refused_naming_the_table(cursor in any::<String>()) {
        assert_names_the_table(decode(&cursor))?;
    }

    #[test]
    fn any_json_is_accepted_only_with_one_value_per_key(value in json()) {
        let result = decode(&encode(&value.to_string()));
        let fits = value.as_array().is_some_and(|values| values.len() == 2);
        prop_assert_eq!(result.is_ok(), fits, "{}: {:?}", value, result);
        assert_names_the_table(result)?;
    }

    #[test]
    fn mutated_cursors_are_accepted_or_refused_naming_the_table(
        name in "[a-z]{0,8}",
        id in any::<i64>(),
        at in any::<usize>(),
        replacement in any::<char>(),
    ) {
        let mut cursor: Vec<char> = encode(&serde_json::json!([name, id]).to_string()).chars().collect();
        let at = at % cursor.len();
        cursor[at] = replacement;
        let cursor: String = cursor.into_iter().collect();
        assert_names_the_table(decode(&cursor))?;
    }
}

#[test]
fn a_cursor_for_a_nullable_ordering_is_refused_naming_the_column() {
    let cursor = encode("[null, 1]");
    let err = Item::query()
        .order_by(NOTE.asc())
        .after(Some(&cursor))
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("items") && err.contains("nullable column note"),
        "{err}"
    );
}
