-- Relations over every kind of key: uuid, text, an enum, and a composite (uuid, int4).
CREATE TABLE teams (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL
);

CREATE TABLE players (
    id serial PRIMARY KEY,
    team_id uuid REFERENCES teams (id),
    name text NOT NULL
);

CREATE TABLE countries (
    code text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE cities (
    id serial PRIMARY KEY,
    country_code text NOT NULL REFERENCES countries (code),
    name text NOT NULL
);

CREATE TABLE mood_notes (
    mood mood PRIMARY KEY,
    note text NOT NULL
);

CREATE TABLE diary_entries (
    id serial PRIMARY KEY,
    mood mood NOT NULL REFERENCES mood_notes (mood),
    entry text NOT NULL
);

CREATE TABLE seasons (
    team_id uuid NOT NULL REFERENCES teams (id),
    year int4 NOT NULL,
    PRIMARY KEY (team_id, year)
);

CREATE TABLE matches (
    id serial PRIMARY KEY,
    team_id uuid NOT NULL,
    year int4,
    score int4,
    FOREIGN KEY (team_id, year) REFERENCES seasons (team_id, year)
);

-- Types without a binary mapping: read as text, written as text cast to their type (and
-- `span`, which the tests' build.rs maps to `String` by an override).
CREATE TABLE documents (
    id serial PRIMARY KEY,
    body tsvector NOT NULL,
    query tsquery,
    markup xml,
    flags bit(4),
    bits varbit,
    mac macaddr,
    span int4range
);

-- A text-form key (macaddr), and rows that point at it and at documents: eager loading
-- matches on keys read as text.
CREATE TABLE devices (
    mac macaddr PRIMARY KEY,
    name text NOT NULL
);
CREATE TABLE device_pings (
    id serial PRIMARY KEY,
    device_mac macaddr NOT NULL REFERENCES devices,
    document_id int4 REFERENCES documents
);
