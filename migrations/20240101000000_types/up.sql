-- Types shared by the reference schema: an enum, domains, a composite type, an extension type.
CREATE EXTENSION IF NOT EXISTS citext;
-- gen_random_uuid() (the uuid keys' default) is core from PostgreSQL 13; on 12 it is pgcrypto's.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TYPE mood AS ENUM ('happy', 'sad', 'so-so', 'Very Happy');
COMMENT ON TYPE mood IS 'How a user feels.';

CREATE DOMAIN email_address AS citext NOT NULL CHECK (VALUE ~ '@');
COMMENT ON DOMAIN email_address IS 'An e-mail address, compared case-insensitively.';

CREATE DOMAIN positive_int AS int4 CHECK (VALUE > 0);

CREATE TYPE address AS (street text, city text, zip varchar(10));
COMMENT ON TYPE address IS 'A postal address.';
