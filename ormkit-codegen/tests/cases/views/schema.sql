-- A view and a materialized view, in two schemas. The tables under them live in `base`,
-- which the test leaves out of the generated schemas, so only the views are rendered.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE DOMAIN email_address AS citext NOT NULL CHECK (VALUE ~ '@');
COMMENT ON DOMAIN email_address IS 'An e-mail address, compared case-insensitively.';

CREATE SCHEMA base;
CREATE TABLE base.users (id bigint PRIMARY KEY, email email_address);
CREATE TABLE base.posts (id bigint PRIMARY KEY, author_id bigint NOT NULL);

CREATE VIEW user_post_counts AS
SELECT u.id AS user_id, u.email, count(p.id) AS post_count
FROM base.users u LEFT JOIN base.posts p ON p.author_id = u.id
GROUP BY u.id;
COMMENT ON VIEW user_post_counts IS 'Posts per user.';

CREATE SCHEMA analytics;
CREATE TYPE analytics.event_kind AS ENUM ('view', 'click', 'purchase');
CREATE TABLE base.events (kind analytics.event_kind NOT NULL, at timestamptz NOT NULL);

CREATE MATERIALIZED VIEW analytics.daily_events AS
SELECT date_trunc('day', at) AS day, kind, count(*) AS n
FROM base.events
GROUP BY 1, 2;
