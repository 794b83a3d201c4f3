-- One round trip for a PUT: the update and the row as stored (its spelling, for the answer).
-- An UPDATE followed by a SELECT costs two, and on a slow network every round trip counts.
-- The parameters carry the columns' character sets and collations, so the comparisons use the unique
-- key whatever the database's default character set is.
CREATE PROCEDURE set_location_active (
  IN in_country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_city_key VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_active BOOLEAN
)
  MODIFIES SQL DATA
BEGIN
  UPDATE locations SET active = in_active WHERE country = in_country AND city_key = in_city_key;
  SELECT country, city, active FROM locations WHERE country = in_country AND city_key = in_city_key;
END
