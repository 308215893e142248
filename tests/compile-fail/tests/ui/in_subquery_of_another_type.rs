use ormkit_tests::entities::*;
fn main() {
    // The subquery selects post keys; users::ID is a user key.
    let _ = User::query().filter(users::ID.in_subquery(Post::subquery().select(posts::ID)));
}
