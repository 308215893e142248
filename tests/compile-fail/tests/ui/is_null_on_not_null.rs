use ormkit_tests::entities::*;
fn main() {
    // email is NOT NULL: in a query over users alone, it is never NULL.
    let _ = User::query().filter(users::EMAIL.is_null());
}
