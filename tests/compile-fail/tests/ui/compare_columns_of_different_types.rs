use ormkit_tests::entities::*;
fn main() {
    // A title is not a user's key.
    let _ = Post::query()
        .inner_join(posts::AUTHOR)
        .filter(posts::TITLE.eq(users::ID));
}
