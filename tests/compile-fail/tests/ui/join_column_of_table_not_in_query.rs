use ormkit_tests::entities::*;
fn main() {
    // comments is not joined: its columns are not the query's.
    let _ = User::query()
        .inner_join(users::POSTS)
        .filter(comments::BODY.eq("x"));
}
