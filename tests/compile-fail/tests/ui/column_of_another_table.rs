use ormkit_tests::entities::*;
fn main() {
    // A posts column in a users query.
    let _ = User::query().filter(posts::TITLE.eq("x"));
}
