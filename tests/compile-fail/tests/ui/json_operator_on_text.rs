use ormkit_tests::entities::*;
fn main() {
    let _ = User::query().filter(users::EMAIL.has_key("x"));
}
