-- The DELETE: naming the operator and the request for the history; answers how many rows went.
CREATE PROCEDURE delete_location_as (
  IN in_country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_operator VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_request_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
)
  MODIFIES SQL DATA
BEGIN
  DECLARE removed INT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
    RESIGNAL;
  END;
  SET @nicaventas_operator = in_operator, @nicaventas_request_id = in_request_id;
  DELETE FROM locations WHERE country = in_country AND city_key = in_city_key;
  SET removed = ROW_COUNT();
  SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
  SELECT removed;
END
