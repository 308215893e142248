DROP TABLE matches;
DROP TABLE seasons;
DROP TABLE diary_entries;
DROP TABLE mood_notes;
DROP TABLE cities;
DROP TABLE countries;
DROP TABLE players;
DROP TABLE teams;
