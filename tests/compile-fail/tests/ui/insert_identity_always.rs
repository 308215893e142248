use ormkit_tests::entities::*;
fn main() {
    // users.id is GENERATED ALWAYS AS IDENTITY: the insert model has no such field.
    let mut user = NewUser::new("a@b.c".into());
    user.id = Some(UserId::new(1));
}
