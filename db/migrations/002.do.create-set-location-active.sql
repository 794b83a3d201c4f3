-- One round trip for a PUT: the update and the row as stored (its spelling, for the answer).
-- An UPDATE followed by a SELECT costs two, and on a slow network every round trip counts.
CREATE PROCEDURE set_location_active (IN in_country CHAR(2), IN in_city_key VARCHAR(100), IN in_active BOOLEAN)
  MODIFIES SQL DATA
BEGIN
  UPDATE locations SET active = in_active WHERE country = in_country AND city_key = in_city_key;
  SELECT country, city, active FROM locations WHERE country = in_country AND city_key = in_city_key;
END
