-- name: weird_names :many
-- Quoted names, a */ in a comment, `:colon` words in strings and a $$ body.
SELECT "ID", "type", "*/ #[doc = """"] fn main() {}" AS "odd", $$ :not_a_param $$ AS dollars,
       ':nor_this' AS quoted -- nor :this, */ here
FROM "Weird Names"
WHERE "ID" > :min
ORDER BY "ID";
