use ormkit_tests::entities::*;
fn main() {
    // display_name is nullable: like takes an Option, as eq does.
    let _ = User::query().filter(users::DISPLAY_NAME.like("A%"));
}
