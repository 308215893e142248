DROP TYPE address;
DROP DOMAIN positive_int;
DROP DOMAIN email_address;
DROP TYPE mood;
DROP EXTENSION citext;
DROP EXTENSION pgcrypto;
