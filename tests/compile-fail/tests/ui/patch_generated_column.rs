use ormkit_tests::entities::*;
fn main() {
    let mut patch = PostPatch::new(PostId::new(1));
    patch.slug = Some(Some("x".into()));
}
