-- The PUT of version 5: set_location_active (002) naming the operator and the request for the
-- history the triggers write. 002 stays for instances of the previous version during a rolling update.
-- The session variables are cleared on the way out, failure included, so they never outlive the write.
CREATE PROCEDURE set_location_active_as (
  IN in_country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_active BOOLEAN,
  IN in_operator VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_request_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
)
  MODIFIES SQL DATA
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
    RESIGNAL;
  END;
  SET @nicaventas_operator = in_operator, @nicaventas_request_id = in_request_id;
  UPDATE locations SET active = in_active WHERE country = in_country AND city_key = in_city_key;
  SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
  SELECT country, city, city_key, active, version FROM locations WHERE country = in_country AND city_key = in_city_key;
END
