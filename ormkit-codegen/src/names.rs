//! SQL names → Rust identifiers.
//!
//! Any SQL name may reach us, including `"; DROP TABLE` or `include!(…)`: only ASCII letters,
//! digits and `_` survive, keywords become raw identifiers or get a `_` suffix, and every
//! scope hands out each identifier once, in a deterministic order. The exact SQL name is kept
//! separately and only ever appears in string literals.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};
use std::collections::BTreeSet;

/// Rust's strict and reserved keywords (2021 edition and later).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers either.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// The case an identifier is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// `snake_case`: fields, modules.
    Snake,
    /// `UpperCamelCase`: types, variants.
    Camel,
    /// `SHOUTY_SNAKE`: column constants.
    Shouty,
}

/// Converts a SQL name to a valid, non-keyword-clashing Rust identifier *text* in `case`.
pub(crate) fn rust_name(sql: &str, case: Case) -> String {
    // Punctuation and spaces become word breaks; other characters are dropped.
    let cleaned: String = sql
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let mut name = match case {
        Case::Snake => cleaned.to_snake_case(),
        Case::Camel => cleaned.to_upper_camel_case(),
        Case::Shouty => cleaned.to_shouty_snake_case(),
    };
    if name.is_empty() {
        name = match case {
            Case::Snake => "unnamed".into(),
            Case::Camel => "Unnamed".into(),
            Case::Shouty => "UNNAMED".into(),
        };
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Turns identifier text into an [`Ident`], raw for keywords (`r#type`), suffixed where a raw
/// identifier is not allowed (`self_`; [`Scope::claim`] already hands out that form).
pub(crate) fn ident(text: &str) -> Ident {
    if NOT_RAW.contains(&text) {
        Ident::new(&format!("{text}_"), Span::call_site())
    } else if KEYWORDS.contains(&text) {
        Ident::new_raw(text, Span::call_site())
    } else {
        Ident::new(text, Span::call_site())
    }
}

/// `users` → `user`, `categories` → `category`, `addresses` → `address`; names that do not
/// look plural are kept.
pub(crate) fn singular(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let cut = |n: usize| name[..name.len() - n].to_owned();
    if lower.len() > 3 && lower.ends_with("ies") {
        return format!("{}y", cut(3));
    }
    for suffix in ["sses", "xes", "ches", "shes", "zzes"] {
        if lower.len() > suffix.len() && lower.ends_with(suffix) {
            return cut(2);
        }
    }
    let keep = ["ss", "us", "is", "os"];
    if lower.len() > 1 && lower.ends_with('s') && !keep.iter().any(|k| lower.ends_with(k)) {
        return cut(1);
    }
    name.to_owned()
}

/// Hands out identifiers in one Rust scope, each once: a clash gets `_2`, `_3`, … in the
/// order names are requested, so the result depends only on the (sorted) input.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    /// A scope in which `reserved` are already taken.
    pub(crate) fn with_reserved(reserved: &[&str]) -> Self {
        Scope {
            taken: reserved.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Claims `base`, or `base_2`, `base_3`, … (`Base2` for camel case).
    pub(crate) fn claim(&mut self, base: &str) -> String {
        self.claim_group(base, &[""]).pop().unwrap_or_default()
    }

    /// Claims `prefix + base + suffix` for every `(prefix, suffix)` pattern in `patterns`
    /// with one shared base, so `User`, `NewUser`, `UserPatch` and `UserId` stay together.
    /// Each pattern is written `prefix{}suffix`.
    pub(crate) fn claim_group(&mut self, base: &str, patterns: &[&str]) -> Vec<String> {
        let camel = base.starts_with(|c: char| c.is_ascii_uppercase())
            && base.chars().any(|c| c.is_ascii_lowercase());
        for n in 1.. {
            let candidate = match n {
                1 => base.to_owned(),
                n if camel => format!("{base}{n}"),
                n => format!("{base}_{n}"),
            };
            let names: Vec<String> = patterns
                .iter()
                .map(|p| p.replacen("{}", &candidate, 1))
                .map(|p| if p.is_empty() { candidate.clone() } else { p })
                .map(|p| {
                    if NOT_RAW.contains(&p.as_str()) {
                        format!("{p}_")
                    } else {
                        p
                    }
                })
                .collect();
            let free = names.iter().all(|name| !self.taken.contains(name));
            if free {
                self.taken.extend(names.iter().cloned());
                return names;
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_identifiers() {
        assert_eq!(
            rust_name("\"; DROP TABLE users; --", Case::Snake),
            "drop_table_users"
        );
        assert_eq!(
            rust_name("include!(\"/etc/passwd\")", Case::Camel),
            "IncludeEtcPasswd"
        );
        assert_eq!(rust_name("9lives", Case::Snake), "_9lives");
        assert_eq!(rust_name("😀", Case::Shouty), "UNNAMED");
        assert_eq!(rust_name("someValue", Case::Snake), "some_value");
        assert_eq!(rust_name("Created At", Case::Shouty), "CREATED_AT");
        for text in ["type", "self", "Self", "crate", "async", "r#x"] {
            let name = rust_name(text, Case::Snake);
            syn::parse_str::<syn::Ident>(&ident(&name).to_string()).unwrap();
        }
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
    }

    #[test]
    fn singular_forms() {
        for (plural, one) in [
            ("users", "user"),
            ("categories", "category"),
            ("addresses", "address"),
            ("status", "status"),
            ("boxes", "box"),
            ("data", "data"),
            ("news_items", "news_item"),
        ] {
            assert_eq!(singular(plural), one);
        }
    }

    #[test]
    fn collisions_resolve_in_request_order() {
        let mut scope = Scope::default();
        assert_eq!(scope.claim("some_value"), "some_value");
        assert_eq!(scope.claim("some_value"), "some_value_2");
        assert_eq!(scope.claim("some_value"), "some_value_3");
        let group = scope.claim_group("User", &["{}", "New{}", "{}Patch", "{}Id"]);
        assert_eq!(group, ["User", "NewUser", "UserPatch", "UserId"]);
        let group = scope.claim_group("User", &["{}", "New{}", "{}Patch", "{}Id"]);
        assert_eq!(group, ["User2", "NewUser2", "User2Patch", "User2Id"]);
        assert_eq!(scope.claim("type"), "type");
        assert_eq!(scope.claim("self"), "self_");
        assert_eq!(scope.claim("self_"), "self__2");
    }
}
