use ormkit_tests::entities::*;
fn main() {
    // Inner-joined, a NOT NULL title is never NULL (left_join would make it so).
    let _ = User::query()
        .inner_join(users::POSTS)
        .filter(posts::TITLE.is_null());
}
