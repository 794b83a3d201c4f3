-- The DELETE: 014, taking the location's row in location_versions (015) before the location, in
-- the order a create takes them (its BEFORE INSERT trigger raises that row first, then inserts).
-- Taken in the other order (the delete's trigger raising it after the row is gone), a DELETE and a
-- POST of one city would each hold what the other waits for. Answers how many rows went, as 014.
CREATE PROCEDURE delete_location_in_transaction (
  IN in_country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_operator VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_request_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
)
  MODIFIES SQL DATA
BEGIN
  DECLARE known INT DEFAULT 0;
  DECLARE removed INT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
    RESIGNAL;
  END;
  SET @nicaventas_operator = in_operator, @nicaventas_request_id = in_request_id;
  START TRANSACTION;
  SELECT COUNT(*) INTO known FROM location_versions WHERE country = in_country AND city_key = in_city_key FOR UPDATE;
  DELETE FROM locations WHERE country = in_country AND city_key = in_city_key;
  SET removed = ROW_COUNT();
  COMMIT;
  SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
  SELECT removed;
END
