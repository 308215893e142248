//! The compile-time promises: each file in `tests/ui/` must fail to compile, with the
//! message pinned next to it (`TRYBUILD=overwrite cargo test -p ormkit-compile-fail` refreshes them).

#[test]
fn type_safety_promises() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
