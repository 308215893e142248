-- Relations over every kind of key: uuid (teams), text (countries), an enum (mood_notes)
-- and a composite (uuid, int4) (seasons).
CREATE TYPE mood AS ENUM ('happy', 'sad', 'so-so', 'Very Happy');
COMMENT ON TYPE mood IS 'How a user feels.';

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
