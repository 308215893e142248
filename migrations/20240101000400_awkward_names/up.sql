-- Names that are not Rust identifiers, or are Rust keywords, or try to inject code.
CREATE TABLE "Weird Names" (
    "ID" int4 PRIMARY KEY,
    "type" text,
    "self" text,
    "someValue" text,
    "some_value" text,
    "9lives" int4,
    """; DROP TABLE users; --" text,
    "include!(""/etc/passwd"")" text,
    "*/ #[doc = """"] fn main() {}" text
);
COMMENT ON TABLE "Weird Names" IS 'A comment with */ and "quotes", \n and #[doc = ""] in it.';

CREATE TYPE "Odd Enum" AS ENUM ('a b', 'A B', 'self', '"; DROP', 'ALL');

CREATE TABLE "type" (
    "fn" "Odd Enum" NOT NULL,
    "Weird Names ID" int4 REFERENCES "Weird Names" ("ID")
);
