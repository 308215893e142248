use ormkit_tests::entities::*;
fn main() {
    // Foreign keys take the referenced table's typed ID, not a bare i64.
    let _ = NewPost::new(42_i64, "title".into());
}
