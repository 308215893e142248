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

const ID: Column<Item, i64> = Column::new(0);
const NAME: Column<Item, String> = Column::new(1);
const NOTE: Column<Item, Option<String>> = Column::new(2);

/// A row of `public.others`: the same columns as `items`, another table.
#[derive(Debug, Clone, PartialEq)]
pub struct Other {
    /// `id`, the key.
    pub id: i64,
    /// `name`.
    pub name: String,
}

ormkit::entity! {
    Other = "public"."others" (Table) {
        id: "id" "int8".key(),
        name: "name" "text",
    }
    key: ["id"],
}

const OTHER_NAME: Column<Other, String> = Column::new(1);

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

/// The cursor after (`name`, `id`) for the query ordered by name, as `fetch_page` makes it.
fn cursor(name: &str, id: i64) -> String {
    Item::query()
        .order_by(NAME.asc())
        .cursor_at([name.into(), id.into()])
        .unwrap()
}

/// The tag a cursor for the query ordered by name carries.
fn tag() -> String {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor("", 0))
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    value["o"].as_str().unwrap().to_owned()
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
        prop_assert_eq!(decode(&cursor(&name, id)), Ok(()));
    }

    #[test]
    fn random_text_is_refused_naming_the_table(cursor in any::<String>()) {
        assert_names_the_table(decode(&cursor))?;
    }

    #[test]
    fn any_json_is_accepted_only_with_one_value_per_key(value in json()) {
        // Any JSON as the values of a cursor with the right tag.
        let tagged = serde_json::json!({ "o": tag(), "v": value });
        let result = decode(&encode(&tagged.to_string()));
        let fits = value.as_array().is_some_and(|values| values.len() == 2);
        prop_assert_eq!(result.is_ok(), fits, "{}: {:?}", value, result);
        assert_names_the_table(result)?;
        // Any JSON as the whole cursor is refused, unless it is the tagged shape.
        let result = decode(&encode(&value.to_string()));
        prop_assert!(result.is_err(), "{}", value);
        assert_names_the_table(result)?;
    }

    #[test]
    fn mutated_cursors_are_accepted_or_refused_naming_the_table(
        name in "[a-z]{0,8}",
        id in any::<i64>(),
        at in any::<usize>(),
        replacement in any::<char>(),
    ) {
        let mut cursor: Vec<char> = cursor(&name, id).chars().collect();
        let at = at % cursor.len();
        cursor[at] = replacement;
        let cursor: String = cursor.into_iter().collect();
        assert_names_the_table(decode(&cursor))?;
    }
}

#[test]
fn a_cursor_for_another_ordering_or_table_is_refused() {
    let by_name = cursor("ada", 1);
    for other in [
        Item::query().order_by(NAME.desc()).after(Some(&by_name)),
        Item::query().after(Some(&by_name)),
        Item::query()
            .order_by(NAME.asc())
            .order_by(ID.desc())
            .after(Some(&by_name)),
    ] {
        let err = other.map(drop).unwrap_err().to_string();
        assert!(
            err.contains("items") && err.contains("made for another table or another ordering"),
            "{err}"
        );
    }
    // The same shape of ordering on another table.
    let err = Other::query()
        .order_by(OTHER_NAME.asc())
        .after(Some(&by_name))
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("others") && err.contains("another table or another ordering"),
        "{err}"
    );
}

#[test]
fn a_cursor_for_a_nullable_ordering_is_refused_naming_the_column() {
    let cursor = encode(&serde_json::json!({ "o": tag(), "v": [null, 1] }).to_string());
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
