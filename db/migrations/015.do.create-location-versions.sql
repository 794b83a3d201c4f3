-- The version source of creates, in place of the history: each location's highest version so far
-- (raised by every create and delete, kept after a delete). 007 and 009 read MAX(version) from
-- location_changes inside the insert's own statement; under REPEATABLE READ (the default of both
-- MySQL 8.4 and MariaDB 10.11) that read takes shared next-key locks on location_changes_location,
-- whose gaps span neighbouring cities, and the AFTER trigger's history insert into such a gap then
-- waits on another writer's lock while that writer waits on ours: concurrent POSTs deadlocked
-- (ER_LOCK_DEADLOCK). A row per location here is locked by its own key only (a record lock on the
-- primary key, never a gap another city shares), so writers of different cities never meet, and
-- writers of one city queue on one row. READ COMMITTED was not chosen: its non-locking read would
-- miss a concurrent, uncommitted delete's version, and a re-created location could get the version
-- of its own delete. Filled from the history and the rows as they are now.
CREATE TABLE location_versions (
  country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  city_key VARCHAR(200) NOT NULL,
  version BIGINT UNSIGNED NOT NULL COMMENT 'the highest version the location has had; a create continues above it',
  PRIMARY KEY (country, city_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
  SELECT country, city_key, MAX(version) AS version FROM (
    SELECT country, city_key, version FROM location_changes
    UNION ALL
    SELECT country, city_key, version FROM locations
  ) AS known GROUP BY country, city_key
