use ormkit::query::sum;
use ormkit_tests::entities::*;
fn main() {
    let _ = Post::query().select(sum(posts::TITLE));
}
