use ormkit_tests::entities::*;
fn main() {
    // posts twice: which copy's title? A second copy needs an Alias.
    let _ = Post::query()
        .inner_join(posts::PARENT)
        .filter(posts::TITLE.eq("x"));
}
