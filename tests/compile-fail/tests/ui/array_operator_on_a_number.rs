use ormkit_tests::entities::*;
fn main() {
    let _ = User::query().filter(users::KARMA.overlaps(vec![1]));
}
