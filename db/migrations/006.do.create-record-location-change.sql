-- Called by the triggers on locations: the history row and the invalidation record of one change,
-- in the change's transaction. The API's procedures (012-014) name the operator and the request in
-- session variables; any other writer leaves them NULL.
CREATE PROCEDURE record_location_change (
  IN in_action VARCHAR(6) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_city VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_active BOOLEAN,
  IN in_previous BOOLEAN,
  IN in_version BIGINT UNSIGNED
)
  MODIFIES SQL DATA
BEGIN
  DECLARE now_utc DATETIME(3) DEFAULT UTC_TIMESTAMP(3);
  INSERT INTO location_changes (country, city_key, city, action, active, previous, version, operator, request_id, changed_at)
    VALUES (in_country, in_city_key, in_city, in_action, in_active, in_previous, in_version, @nicaventas_operator, @nicaventas_request_id, now_utc);
  INSERT INTO cache_invalidations (country, city_key, version, deleted, created_at)
    VALUES (in_country, in_city_key, in_version, in_action = 'delete', now_utc);
END
