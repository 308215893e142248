-- name: thread :many
-- A post and every reply below it, with its depth.
WITH RECURSIVE thread AS (
    SELECT id, parent_id, title, 0 AS depth FROM posts WHERE id = :root
    UNION ALL
    SELECT p.id, p.parent_id, p.title, t.depth + 1
    FROM posts p JOIN thread t ON p.parent_id = t.id
)
SELECT id, parent_id, title, depth AS "depth!" FROM thread ORDER BY depth, id;

-- name: karma_ranks :many
-- Users by karma, ranked (ties share a rank).
SELECT id, email, rank() OVER (ORDER BY karma DESC NULLS LAST) AS "rank!"
FROM users
ORDER BY 3, id;
