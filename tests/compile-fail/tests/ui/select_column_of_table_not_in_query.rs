use ormkit_tests::entities::*;
fn main() {
    let _ = User::query().select((users::EMAIL, posts::TITLE));
}
