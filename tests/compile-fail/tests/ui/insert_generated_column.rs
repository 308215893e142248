use ormkit_tests::entities::*;
fn main() {
    // posts.slug is a stored generated column.
    let mut post = NewPost::new(UserId::new(1), "t".into());
    post.slug = Some("t".into());
}
