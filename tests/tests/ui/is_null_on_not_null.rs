use ormkit_tests::entities::*;
fn main() {
    // email is NOT NULL: asking for NULLs is a mistake.
    let _ = users::EMAIL.is_null();
}
