-- The PUT: 012 with its UPDATE and the row it answers with in one transaction. In 012 each
-- statement committed on its own, so a DELETE committed between them made a PUT that had applied
-- its change answer 404. Here the UPDATE's row lock (taken even when the value is already the one
-- asked for) holds until the answer is read: a row answered is a row this UPDATE matched, no row
-- means the UPDATE found none. A failure rolls the whole change back, so the caller may retry it.
-- 012 stays for instances of the previous version during a rolling update.
CREATE PROCEDURE set_location_active_in_transaction (
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
    ROLLBACK;
    SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
    RESIGNAL;
  END;
  SET @nicaventas_operator = in_operator, @nicaventas_request_id = in_request_id;
  START TRANSACTION;
  UPDATE locations SET active = in_active WHERE country = in_country AND city_key = in_city_key;
  SELECT country, city, city_key, active, version FROM locations WHERE country = in_country AND city_key = in_city_key;
  COMMIT;
  SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
END
