use ormkit_tests::entities::*;
fn main() {
    let _ = User::query().order_by(posts::ID.asc());
}
