DROP VIEW user_post_counts;
DROP TABLE measurements;
DROP TABLE audit_log;
DROP TABLE membership_events;
DROP TABLE memberships;
DROP TABLE posts;
DROP TABLE users;
