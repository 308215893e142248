-- name: active_authors :many
-- Authors with a post published after :since, and how many.
SELECT u.id, u.email, count(p.id) AS posts
FROM users u JOIN posts p ON p.author_id = u.id
WHERE p.published_at > :since
GROUP BY u.id
ORDER BY u.id;

-- name: users_and_posts :many
-- Every user with each of their posts; a user without posts once, with NULLs.
SELECT u.id, u.email, p.id AS post_id, p.title
FROM users u LEFT JOIN posts p ON p.author_id = u.id
ORDER BY u.id, p.id;

-- name: post_stats :one
-- Totals over all posts (one row, also over an empty table).
SELECT count(*) AS posts, max(published_at) AS latest, coalesce(min(title), '') AS "first_title!",
       min(author_id) AS "first_author?"
FROM posts;
