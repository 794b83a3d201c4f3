ALTER TABLE locations
  DROP COLUMN version,
  MODIFY city_key VARCHAR(100) NOT NULL COMMENT 'trimmed, lower case, without accents: what lookups compare'
