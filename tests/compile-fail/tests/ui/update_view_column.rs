use ormkit_tests::entities::*;
fn main() {
    let _ = user_post_counts::POST_COUNT.set(Some(1_i64));
}
