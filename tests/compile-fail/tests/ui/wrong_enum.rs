use ormkit_tests::entities::*;
fn main() {
    let _ = users::MOOD.eq(analytics::EventKind::View);
}
