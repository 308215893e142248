-- A second schema, with a foreign key back into public.
CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS 'Product analytics.';

CREATE TYPE analytics.event_kind AS ENUM ('view', 'click', 'purchase');

CREATE TABLE analytics.events (
    id bigserial PRIMARY KEY,
    user_id bigint REFERENCES public.users (id) ON DELETE SET NULL,
    kind analytics.event_kind NOT NULL,
    payload jsonb,
    at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analytics.events IS 'Things users did.';

CREATE MATERIALIZED VIEW analytics.daily_events AS
SELECT date_trunc('day', at) AS day, kind, count(*) AS n
FROM analytics.events
GROUP BY 1, 2;
