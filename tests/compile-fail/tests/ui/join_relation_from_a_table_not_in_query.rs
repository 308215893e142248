use ormkit_tests::entities::*;
fn main() {
    // comments::POST starts from comments, which this query does not read.
    let _ = User::query().inner_join(comments::POST);
}
