-- Enums, domains and composite types, in two schemas, with no table using them: each is
-- generated anyway. "Odd Enum" has labels that are not Rust identifiers.
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TYPE mood AS ENUM ('happy', 'sad', 'so-so', 'Very Happy');
COMMENT ON TYPE mood IS 'How a user feels.';

CREATE TYPE "Odd Enum" AS ENUM ('a b', 'A B', 'self', '"; DROP', 'ALL');

CREATE DOMAIN email_address AS citext NOT NULL CHECK (VALUE ~ '@');
COMMENT ON DOMAIN email_address IS 'An e-mail address, compared case-insensitively.';

CREATE DOMAIN positive_int AS int4 CHECK (VALUE > 0);

CREATE TYPE address AS (street text, city text, zip varchar(10));
COMMENT ON TYPE address IS 'A postal address.';

CREATE SCHEMA analytics;
CREATE TYPE analytics.event_kind AS ENUM ('view', 'click', 'purchase');
