use ormkit::query::exists;
use ormkit_tests::entities::*;
fn main() {
    // posts is neither the subquery's table nor the outer query's.
    let _ = User::query().filter(exists(
        Comment::subquery().filter(posts::ID.eq(comments::POST_ID)),
    ));
}
