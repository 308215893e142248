use ormkit_tests::entities::*;
fn main() {
    // Generated columns cannot be set by an update either.
    let _ = posts::SLUG.set(Some("x".to_owned()));
}
