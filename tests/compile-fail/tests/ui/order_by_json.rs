use ormkit_tests::entities::*;
fn main() {
    // jsonb has no ordering ormkit sorts by.
    let _ = User::query().order_by(users::SETTINGS.asc());
}
