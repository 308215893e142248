use ormkit_tests::entities::*;
fn main() {
    // posts.title is required.
    let _ = NewPost {
        author_id: UserId::new(1),
        parent_id: None,
        body: None,
        tags: None,
        scores: None,
        published_at: None,
        id: None,
    };
}
