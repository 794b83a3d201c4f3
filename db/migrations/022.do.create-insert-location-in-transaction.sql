-- The POST: 013 with its INSERT and the row it answers with in one transaction. In 013 a DELETE
-- committed between the two made a POST that had created the location answer 409. Here the new
-- row stays locked until it is read; a location that exists is refused by the INSERT itself
-- (ER_DUP_ENTRY). A failure rolls the whole change back, so the caller may retry it.
CREATE PROCEDURE insert_location_in_transaction (
  IN in_country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_city VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_active BOOLEAN,
  IN in_operator VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_request_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
)
  MODIFIES SQL DATA
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
    RESIGNAL;
  END;
  SET @nicaventas_operator = in_operator, @nicaventas_request_id = in_request_id;
  START TRANSACTION;
  INSERT INTO locations (country, city, city_key, active) VALUES (in_country, in_city, in_city_key, in_active);
  SELECT country, city, city_key, active, version FROM locations WHERE country = in_country AND city_key = in_city_key;
  COMMIT;
  SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
END
