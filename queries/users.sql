-- name: user_by_id :one
-- returns: User
SELECT * FROM users WHERE id = :id;

-- name: user_by_email :opt
-- returns: User
SELECT * FROM users WHERE email = :email;

-- name: rename_user :exec
-- Sets a user's display name, unless it already is that (one parameter, used twice).
UPDATE users SET display_name = :name
WHERE id = :id AND display_name IS DISTINCT FROM :name;

-- name: same_karma :many
-- Pairs of users with the same karma, at least :min.
SELECT a.id AS first, b.id AS second, a.karma AS "karma!"
FROM users a JOIN users b ON a.karma = b.karma AND a.id < b.id
WHERE a.karma >= :min
ORDER BY 1, 2;

-- name: lock_next_post :opt
-- The oldest unpublished post, locked: a write, for routing.
SELECT id, title FROM posts WHERE published_at IS NULL
ORDER BY id LIMIT 1
FOR UPDATE SKIP LOCKED;
