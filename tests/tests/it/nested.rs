//! Many-to-many relations through a link table, and nested eager loading, against real
//! PostgreSQL: one statement per level (counted), rows grouped under their parents.

use super::blog::seed;
use ormkit::query::Nest as _;
use ormkit_tests::entities::*;
use ormkit_tests::support::TestDb;

fn names(labels: &[Label]) -> Vec<&str> {
    labels.iter().map(|l| l.name.as_str()).collect()
}

#[tokio::test]
async fn many_to_many_both_ways_in_one_statement() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let posts = vec![
        blog.hello.clone(),
        blog.second.clone(),
        blog.cys.clone(),
        blog.hello.clone(),
    ];
    let (labels, statements) = ormkit::count_statements(posts::LABELS.load(&posts, &db.pool)).await;
    let mut labels = labels?;
    assert_eq!(statements, 1);
    for l in &mut labels {
        l.sort_by_key(|l| l.id);
    }
    let shape: Vec<Vec<&str>> = labels.iter().map(|l| names(l)).collect();
    assert_eq!(
        shape,
        [vec!["rust"], vec!["rust", "SQL"], vec!["SQL"], vec!["rust"]]
    );

    let all_labels = vec![blog.rust.clone(), blog.sql.clone(), blog.news.clone()];
    let posts_of = labels::POSTS.load(&all_labels, &db.pool).await?;
    let counts: Vec<usize> = posts_of.iter().map(Vec::len).collect();
    assert_eq!(counts, [2, 2, 0]);

    // The link rows come along when asked: they carry the payload.
    let linked = posts::LABELS
        .load_with_links(std::slice::from_ref(&blog.second), &db.pool)
        .await?;
    assert_eq!(linked[0].len(), 2);
    assert!(linked[0]
        .iter()
        .all(|(link, label)| link.post_id == blog.second.id && link.label_id == label.id));
    Ok(())
}

#[tokio::test]
async fn three_levels_load_with_one_statement_per_level() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let blog = seed(&db).await?;
    let users = User::query()
        .order_by(users::ID.asc())
        .fetch_all(&db.pool)
        .await?;
    let relation = users::POSTS.with(posts::COMMENTS.with(comments::AUTHOR));
    let (loaded, statements) = ormkit::count_statements(relation.load(&users, &db.pool)).await;
    let loaded = loaded?;
    assert_eq!(statements, 3, "users → posts → comments → their authors");
    assert_eq!(loaded.len(), 4);
    // Ada: two posts; the first has two comments, by Bob and Cy.
    let ada = &loaded[0];
    assert_eq!(ada.len(), 2);
    let (hello, comments) = &ada[0];
    assert_eq!(hello, &blog.hello);
    let mut authors: Vec<&str> = comments
        .iter()
        .map(|(_, author)| author.as_ref().map_or("?", |u| u.email.as_str()))
        .collect();
    authors.sort();
    assert_eq!(authors, ["bob@example.com", "cy@example.org"]);
    assert!(ada[1].1.is_empty(), "Second has no comment");
    assert!(loaded[1].is_empty(), "Bob has no post");
    // Cy's post, commented by Ada.
    assert_eq!(loaded[2][0].1[0].1.as_ref(), Some(&blog.ada));

    // A many-to-many level nests the same way.
    let (with_labels, statements) =
        ormkit::count_statements(users::POSTS.with(posts::LABELS).load(&users, &db.pool)).await;
    let with_labels = with_labels?;
    assert_eq!(statements, 2);
    assert_eq!(with_labels[0][1].1.len(), 2, "Second has two labels");
    // Nothing to load: no statement at all below the first level.
    let (none, statements) = ormkit::count_statements(
        users::POSTS
            .with(posts::COMMENTS)
            .load(std::slice::from_ref(&blog.dee), &db.pool),
    )
    .await;
    assert_eq!(none?, vec![Vec::new()]);
    assert_eq!(statements, 1);
    Ok(())
}
