-- The history: one row per change to a location, written by the triggers in the change's own
-- transaction, whoever made it. Kept for good: it is the audit trail, and a re-created location's
-- version continues from it.
CREATE TABLE location_changes (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  city_key VARCHAR(200) NOT NULL,
  city VARCHAR(100) NOT NULL COMMENT 'the spelling as of this change (before it, for a delete)',
  action ENUM('create', 'update', 'delete') CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  active BOOLEAN NULL COMMENT 'the flag after the change; NULL for a delete',
  previous BOOLEAN NULL COMMENT 'the flag before the change; NULL for a create',
  version BIGINT UNSIGNED NOT NULL COMMENT 'the location''s version after the change',
  operator VARCHAR(32) NULL COMMENT 'the API token''s name; NULL for a change made outside the API',
  request_id VARCHAR(64) NULL,
  changed_at DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (id),
  KEY location_changes_location (country, city_key, version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
