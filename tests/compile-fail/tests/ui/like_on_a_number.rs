use ormkit_tests::entities::*;
fn main() {
    let _ = posts::AUTHOR_ID.like("1%");
}
