-- The durable invalidation records: what every instance's sync applies to Redis
-- (services/cache/record-sync.ts), so that no crash, partition or direct SQL edit can lose one.
-- Purged once older than any cached key can live; the history is kept.
CREATE TABLE cache_invalidations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  city_key VARCHAR(200) NOT NULL,
  version BIGINT UNSIGNED NOT NULL COMMENT 'the location''s version after the change',
  deleted BOOLEAN NOT NULL COMMENT 'whether the change removed the location',
  created_at DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (id),
  KEY cache_invalidations_created_at (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
