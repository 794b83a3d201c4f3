CREATE TABLE locations (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  country CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'ISO 3166-1 alpha-2, upper case',
  city VARCHAR(100) NOT NULL COMMENT 'as written, for display',
  city_key VARCHAR(100) NOT NULL COMMENT 'trimmed, lower case, without accents: what lookups compare',
  active BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY locations_country_city_key (country, city_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
