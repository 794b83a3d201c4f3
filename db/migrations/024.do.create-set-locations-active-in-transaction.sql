-- The bulk PUT (PUT /active/cities): many cities of one country switched in one transaction, all or
-- nothing. in_city_keys is a JSON array of distinct city keys, or NULL for every city of the country.
-- The named rows (or the country's) are read with FOR UPDATE first and answered as the first result
-- set: locked, they are exactly what the UPDATE then sees, so the caller learns from this very
-- transaction which cities existed and which changed. When a named key has no row, nothing is
-- updated and the transaction is rolled back. The UPDATE touches only the rows whose flag differs,
-- so the triggers (010, 019) write a history row and an invalidation record for each city that
-- changed and for no other. The second result set says whether the change was applied and how many
-- rows the UPDATE changed (its own ROW_COUNT). A failure rolls everything back, so the caller may retry it.
CREATE PROCEDURE set_locations_active_in_transaction (
  IN in_country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin,
  IN in_city_keys LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_active BOOLEAN,
  IN in_operator VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  IN in_request_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
)
  MODIFIES SQL DATA
BEGIN
  DECLARE found_count INT UNSIGNED DEFAULT 0;
  DECLARE changed_count INT UNSIGNED DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
    RESIGNAL;
  END;
  SET @nicaventas_operator = in_operator, @nicaventas_request_id = in_request_id;
  START TRANSACTION;
  IF in_city_keys IS NULL THEN
    SELECT city, city_key, active, version FROM locations WHERE country = in_country ORDER BY city_key FOR UPDATE;
    UPDATE locations SET active = in_active WHERE country = in_country AND active <> in_active;
    SET changed_count = ROW_COUNT();
    SELECT TRUE AS applied, changed_count AS changed;
    COMMIT;
  ELSE
    -- Counted as they are locked (FOUND_ROWS is deprecated in MySQL 8): a key without a row is
    -- gap-locked, so none of them can appear before the answer below is read. The names are in a
    -- subquery, not joined: MySQL refuses FOR UPDATE on a join with JSON_TABLE (seen on 9.7:
    -- error 3569, "Table named appears in multiple locking clauses"), and MariaDB has no FOR UPDATE OF.
    SELECT COUNT(*) INTO found_count
      FROM locations AS l
      WHERE l.country = in_country AND l.city_key IN (SELECT named.city_key FROM JSON_TABLE(in_city_keys, '$[*]' COLUMNS (city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$')) AS named)
      FOR UPDATE;
    SELECT l.city, l.city_key, l.active, l.version
      FROM locations AS l
      WHERE l.country = in_country AND l.city_key IN (SELECT named.city_key FROM JSON_TABLE(in_city_keys, '$[*]' COLUMNS (city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$')) AS named)
      ORDER BY l.city_key FOR UPDATE;
    IF found_count = JSON_LENGTH(in_city_keys) THEN
      UPDATE locations AS l
        JOIN JSON_TABLE(in_city_keys, '$[*]' COLUMNS (city_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$')) AS named
          ON l.country = in_country AND l.city_key = named.city_key
        SET l.active = in_active
        WHERE l.active <> in_active;
      SET changed_count = ROW_COUNT();
      SELECT TRUE AS applied, changed_count AS changed;
      COMMIT;
    ELSE
      SELECT FALSE AS applied, 0 AS changed;
      ROLLBACK;
    END IF;
  END IF;
  SET @nicaventas_operator = NULL, @nicaventas_request_id = NULL;
END
