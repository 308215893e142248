use ormkit_tests::entities::*;
fn main() {
    // users.email is text: an integer is not a value for it.
    let _ = User::query().filter(users::EMAIL.eq(5));
}
